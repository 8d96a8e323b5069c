"""Gradients and updates on JAX: pure functions of the variables' values.

JAX differentiates functions, not tapes, and a jitted step may not change
variables in place. Keras's JAX trainer therefore passes the model's state in
and out of `train_step(state, data)`. Here the whole step runs in one
`RecordingScope` that maps every variable to its value in that state, so the
step's code can read and assign variables as it does on the other backends;
each gradient is `jax.value_and_grad` of a function that opens a scope mapping
the differentiated variables to its arguments, and whose other assignments
(batch-norm statistics, noise-generator state, metrics) and the losses that
layers add leave it as auxiliary outputs, to be assigned in (and added to) the
enclosing scope.
"""

import jax
from keras import ops

from tfgan_losses.gradients.scope import RecordingScope


def _differentiable(fn, variables=()):
    """`fn` as a pure function `(values, *args) -> (outputs, side effects)`, and
    `pass_on(side effects)`, which applies them where `fn` was called: the
    assignments to variables and the losses that layers added."""
    scopes = []

    def pure(values, *args):
        with RecordingScope(zip(variables, values), collect_losses=True,
                            forward_losses=False) as scope:
            outputs = fn(*args)
        scopes[:] = [scope]
        updates = scope.updates()
        return outputs, ([value for _, value in updates], list(scope.losses))

    def pass_on(side_effects):
        values, losses = side_effects
        (scope,) = scopes
        _assign([variable for variable, _ in scope.updates()], values)
        scope.pass_on_losses(losses)

    return pure, pass_on


def _assign(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)


def value_and_gradients(fn, variables, differentiable_outputs=False):
    """See `tfgan_losses.gradients.value_and_gradients` (outputs stay differentiable here)."""
    del differentiable_outputs
    pure, pass_on = _differentiable(fn, variables)

    def first_output(values):
        outputs, side_effects = pure(values)
        return outputs[0], (outputs, side_effects)

    (_, (outputs, side_effects)), gradients = jax.value_and_grad(first_output, has_aux=True)(
        [variable.value for variable in variables])
    pass_on(side_effects)
    return outputs, gradients


def input_gradients(fn, inputs):
    """See `tfgan_losses.gradients.input_gradients`: `jax.grad` of a stateless call,
    which stays differentiable with respect to the variables that `fn` reads."""
    pure, pass_on = _differentiable(fn)

    def summed(x):
        outputs, side_effects = pure((), x)
        return ops.sum(outputs), side_effects

    gradients, side_effects = jax.grad(summed, has_aux=True)(inputs)
    pass_on(side_effects)
    return gradients


def apply_gradients(optimizer, gradients, variables):
    """See `tfgan_losses.gradients.apply_gradients`: the optimizer's `stateless_apply`,
    whose new values are assigned in the enclosing scope."""
    new_values, new_optimizer_values = optimizer.stateless_apply(
        [variable.value for variable in optimizer.variables], gradients,
        [variable.value for variable in variables])
    _assign(variables, new_values)
    _assign(optimizer.variables, new_optimizer_values)


def run_step(step, variable_groups, state, data):
    """See `tfgan_losses.gradients.run_step`: Keras's JAX trainer calls
    `train_step(state, data)` and expects `(logs, new_state)`, the new state in
    the structure of `variable_groups`."""
    variables = [variable for group in variable_groups for variable in group]
    values = [value for group in state for value in group]
    with RecordingScope(zip(variables, values)) as scope:
        logs = step(data)
    new_state = tuple([scope.get_current_value(variable) for variable in group]
                      for group in variable_groups)
    return logs, new_state
