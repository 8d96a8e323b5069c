"""Test helpers that run a computation in each mode the Keras backend offers.

Shared by the loss tests (`test_losses.py`, `test_tfgan_conformance.py`,
`test_keras_losses.py`), which run on every Keras backend:

* `compiled(fn)`: `fn` compiled as the backend compiles a train step:
  `tf.function(jit_compile=True)` (XLA) on TensorFlow, `jax.jit` on JAX. On
  PyTorch it is `fn` itself, run eagerly: `torch.compile` takes tens of
  seconds per function, too slow for unit tests.
* `in_mode(mode, fn)`: `fn` for "eager", `compiled(fn)` for "compiled".
* `value_and_gradients(fn, variables)`: `fn()` and its gradient with respect
  to Keras variables, by the backend's own autodiff (written here, not taken
  from `tfgan_losses.gradients`, so that tests check the library against it).
* `record(x, sink)`, `flush_records()`: append the values of a tensor seen
  inside the library's differentiation (a JAX tracer there) to the list `sink`.
* `to_numpy`, `dtype_of`, `tensor`: backend-neutral conversions.
"""

import keras
import numpy as np

BACKEND = keras.backend.backend()
MODES = ("eager", "compiled")


def compiled(fn):
    """`fn` compiled by the backend (XLA on TensorFlow, `jax.jit`); eager on PyTorch."""
    if BACKEND == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.function(fn, jit_compile=True)
    if BACKEND == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        return jax.jit(fn)
    # PyTorch: torch.compile is too slow for unit tests (tens of seconds per function).
    return fn


def in_mode(mode, fn):
    """`fn` as run in `mode`, one of `MODES`."""
    if mode == "eager":
        return fn
    if mode == "compiled":
        return compiled(fn)
    raise ValueError(f"Unknown mode {mode!r}; expected one of {MODES}.")


def record(x, sink):
    """Appends the values of tensor `x` to `sink` as numpy, also where `x` is a JAX tracer
    (inside `jax.grad`: through `jax.debug.callback`; call `flush_records()` before
    reading `sink`)."""
    if BACKEND == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        jax.debug.callback(lambda value: sink.append(np.asarray(value)), x, ordered=True)
    else:
        sink.append(to_numpy(x))


def flush_records():
    """Waits for the values that `record` sends through JAX callbacks."""
    if BACKEND == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        jax.effects_barrier()


def to_numpy(x):
    """A tensor (or a tuple or list of them, or None) as numpy; detaches PyTorch tensors."""
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(item) for item in x)
    return np.asarray(keras.ops.convert_to_numpy(x))


def dtype_of(x):
    """The standardized Keras dtype name of tensor `x`, e.g. "float32"."""
    return keras.backend.standardize_dtype(x.dtype)


def tensor(x, dtype=None):
    """`x` (array-like) as a backend tensor, of `dtype` when given."""
    return keras.ops.convert_to_tensor(np.asarray(x) if dtype is None else np.asarray(x, dtype),
                                       dtype)


def value_and_gradients(fn, variables):
    """Returns `fn()` (a scalar) and its gradients with respect to Keras `variables`.

    `tf.GradientTape` on TensorFlow; `jax.value_and_grad` of `fn` called in a
    `keras.StatelessScope` that maps `variables` to the differentiated values on
    JAX; `torch.autograd.grad` on PyTorch. A gradient is None (TensorFlow and
    PyTorch) or zeros (JAX) where `fn()` does not depend on the variable.
    """
    variables = list(variables)
    if BACKEND == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        with tf.GradientTape() as tape:
            value = fn()
        return value, tape.gradient(value, variables)
    if BACKEND == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        def pure(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn()

        return jax.value_and_grad(pure)([variable.value for variable in variables])
    if BACKEND == "torch":
        import torch  # pylint: disable=import-outside-toplevel

        value = fn()
        gradients = torch.autograd.grad(value, [variable.value for variable in variables],
                                        allow_unused=True)
        return value, list(gradients)
    raise NotImplementedError(BACKEND)
