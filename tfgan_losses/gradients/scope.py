"""A `keras.StatelessScope` that inherits the enclosing scope's values and lists its updates.

Keras's stateless scopes do not nest: inside a new `keras.StatelessScope`,
variables read their real values, not those of the enclosing scope. On JAX a
whole train step runs inside one scope that holds the step's state, so a
scope opened inside it (to collect one call's losses, or to differentiate a
function of some variables) must start from that state. `RecordingScope` does,
and remembers which variables were assigned inside it, so that the caller can
pass exactly those updates on. The losses it collects are collected by the
enclosing scope too, where that one collects losses, as if it were not there.
"""

import keras


class RecordingScope(keras.StatelessScope):
    """A stateless scope that starts from the enclosing scope's values.

    Args:
      state_mapping: `(variable, value)` pairs that override the inherited values.
      collect_losses: Collect the losses added by layers called inside.
      forward_losses: On exit, add the collected losses to the enclosing scope
        if it collects losses. JAX's gradient layer passes False: its losses
        are values of a transformation, passed on after it returns.

    Example:
      >>> with RecordingScope(collect_losses=True) as scope:
      ...     outputs = model(inputs, training=True)
      >>> for variable, value in scope.updates():  # e.g. batch-norm statistics
      ...     variable.assign(value)
    """

    def __init__(self, state_mapping=(), collect_losses=False, forward_losses=True):
        super().__init__(state_mapping=list(state_mapping), collect_losses=collect_losses)
        self.forward_losses = forward_losses
        self._updated = {}

    def __enter__(self):
        super().__enter__()
        if self.original_scope is not None:
            self.state_mapping = {**self.original_scope.state_mapping, **self.state_mapping}
        return self

    def __exit__(self, *args):
        super().__exit__(*args)
        if self.forward_losses:
            self.pass_on_losses(self.losses)

    def pass_on_losses(self, losses):
        """Adds `losses` to the enclosing scope, if there is one that collects losses."""
        enclosing = self.original_scope
        if enclosing is not None and enclosing.collect_losses:
            for loss in losses:
                enclosing.add_loss(loss)

    def add_update(self, update):
        super().add_update(update)
        variable, _ = update
        self._updated[id(variable)] = variable

    def updates(self):
        """The `(variable, new value)` pairs of the variables assigned inside the scope."""
        return [(variable, self.state_mapping[key]) for key, variable in self._updated.items()]
