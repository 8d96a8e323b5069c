"""Argument checks shared by the evaluation metrics.

Every check raises a `ValueError` that names the offending argument, so that a
bad call fails at once with a readable message instead of deep inside a
TensorFlow kernel.

`accepts_aliases` lets the public metrics take TF-GAN 2.1.0's keyword names
(`activations1`, `input_tensor1`, ...) beside this package's own names.
"""

import functools
import inspect

import tensorflow as tf

# The release whose keyword names the aliases reproduce, quoted in messages.
_ALIAS_RELEASE = "TF-GAN 2.1.0"


def accepts_aliases(**aliases):
    """Decorator: accepts TF-GAN 2.1.0 keyword names as aliases of parameters.

    Each keyword argument maps an alias to the name of a parameter of the
    decorated function, e.g.

        @accepts_aliases(activations1="real_activations",
                         activations2="generated_activations")
        def metric(real_activations, generated_activations): ...

    A call passing an alias as a keyword is forwarded with the parameter's own
    name, so `metric(activations1=a, activations2=b)`, `metric(a, b)` and
    `metric(real_activations=a, generated_activations=b)` are the same call.
    The aliases are keyword-only: the parameters keep their names and
    positional order, and the function's signature (`inspect.signature`,
    through `functools.wraps`) and docstring are those of the decorated
    function. The mapping is kept on the wrapper as `_keyword_aliases`.

    Args:
      **aliases: alias name -> name of a parameter of the decorated function
        that can be passed by keyword.

    Returns:
      The decorator.

    Raises:
      ValueError: At call time, if a call gives an argument under both its
        names (both as keywords, or positionally and by its alias). At
        decoration time (a programming error), if an alias is not a string
        naming a keyword-passable parameter, or shadows a parameter.
    """

    def decorate(function):
        parameters = inspect.signature(function).parameters
        passable = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        positions = {}
        for alias, canonical in aliases.items():
            if alias in parameters:
                raise ValueError(f"Alias `{alias}` shadows a parameter of {function.__name__}.")
            if canonical not in parameters or parameters[canonical].kind not in passable:
                raise ValueError(
                    f"Alias `{alias}` names `{canonical}`, which is not a keyword "
                    f"parameter of {function.__name__}."
                )
            if parameters[canonical].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
                positions[canonical] = list(parameters).index(canonical)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for alias, canonical in aliases.items():
                if alias not in kwargs:
                    continue
                if canonical in kwargs or positions.get(canonical, len(args)) < len(args):
                    raise ValueError(
                        f"{function.__name__}: pass either `{canonical}` or its "
                        f"{_ALIAS_RELEASE} name `{alias}`, not both."
                    )
                kwargs[canonical] = kwargs.pop(alias)
            return function(*args, **kwargs)

        wrapper._keyword_aliases = dict(aliases)
        return wrapper

    return decorate


def check_positive_int(value, name):
    """Raises unless `value` is a Python (or numpy) integer >= 1."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def num_rows(tensor, name):
    """Returns the statically known size of the first axis of `tensor`."""
    rows = tensor.shape[0]
    if rows is None:
        raise ValueError(
            f"`{name}` must have a statically known first dimension (always the "
            f"case in eager mode), got shape {tensor.shape}."
        )
    return rows


def as_float_matrix(values, name):
    """Converts `values` to a rank-2 floating-point tensor [num_samples, dim].

    Args:
      values: Array-like of shape [num_samples, dim].
      name: Argument name used in error messages.

    Returns:
      A `tf.Tensor` with the dtype of `values`.

    Raises:
      ValueError: If `values` is not rank 2, not floating point, or empty.
    """
    tensor = tf.convert_to_tensor(values)
    if tensor.shape.rank != 2:
        raise ValueError(
            f"`{name}` must be a rank-2 tensor [num_samples, dim], got shape {tensor.shape}."
        )
    if not tensor.dtype.is_floating:
        raise ValueError(f"`{name}` must have a floating-point dtype, got {tensor.dtype.name}.")
    if num_rows(tensor, name) == 0:
        raise ValueError(f"`{name}` must contain at least one sample.")
    return tensor


def check_same_dim(tensor1, tensor2, name1, name2):
    """Raises unless two [num_samples, dim] tensors share their `dim`."""
    if tensor1.shape[1] != tensor2.shape[1]:
        raise ValueError(
            f"`{name1}` and `{name2}` must have the same feature dimension, got "
            f"{tensor1.shape[1]} and {tensor2.shape[1]}."
        )


def check_min_rows(tensor, name, minimum, reason):
    """Raises unless `tensor` has at least `minimum` rows."""
    rows = num_rows(tensor, name)
    if rows < minimum:
        raise ValueError(f"`{name}` needs at least {minimum} samples {reason}, got {rows}.")
