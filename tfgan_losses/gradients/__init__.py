"""Gradients and optimizer updates of stateful Keras code, one thin layer per backend.

`GANModel`'s train step and `wasserstein_gradient_penalty` are written once,
as code that calls networks, reads and assigns variables, and asks this
package for three things that each backend does its own way:

* `value_and_gradients(fn, variables)`: run `fn()` and differentiate its first
  output with respect to `variables` (`tf.GradientTape`; `jax.value_and_grad`
  of a stateless call; `torch.autograd.grad`).
* `input_gradients(fn, inputs)`: the gradient of `sum(fn(inputs))` with respect
  to `inputs`, itself differentiable with respect to the variables `fn` reads
  (the WGAN-GP penalty's inner gradient).
* `apply_gradients(optimizer, gradients, variables)`: one optimizer update
  (`optimizer.apply`; `optimizer.stateless_apply` on JAX).

`run_step` adapts a step written that way to the signature of Keras's trainer:
`train_step(data)` on TensorFlow and PyTorch, the pure
`train_step(state, data) -> (logs, state)` on JAX. On every backend the
variables assigned inside `fn` (batch-norm statistics, the noise generator's
state, metrics) keep their new values, as in eager code.

Example:
  >>> (loss, logits), gradients = value_and_gradients(
  ...     lambda: loss_and_logits(model, batch), model.trainable_variables)
  >>> apply_gradients(optimizer, gradients, model.trainable_variables)
"""

import importlib

import keras

_LAYERS = {"tensorflow": "tensorflow_backend", "jax": "jax_backend", "torch": "torch_backend"}
_BACKEND = keras.backend.backend()


def _layer():
    if _BACKEND not in _LAYERS:
        raise NotImplementedError(
            f"Gradients are not available on the Keras backend {_BACKEND!r}: tfgan_losses "
            f"trains on {', '.join(sorted(_LAYERS))} (set KERAS_BACKEND).")
    return importlib.import_module(f"tfgan_losses.gradients.{_LAYERS[_BACKEND]}")


def value_and_gradients(fn, variables, differentiable_outputs=False):
    """Runs `fn()` and differentiates its first output with respect to `variables`.

    Args:
      fn: Zero-argument callable returning a tuple or list whose element 0 is
        a scalar loss; it may read and assign variables and call layers.
      variables: The Keras variables to differentiate with respect to.
      differentiable_outputs: Whether the outputs will be differentiated again
        (PyTorch then keeps their graph, which it otherwise frees).

    Returns:
      `(outputs, gradients)`: what `fn()` returned, and one gradient per
      variable (None where the loss does not depend on it).
    """
    return _layer().value_and_gradients(fn, variables, differentiable_outputs)


def input_gradients(fn, inputs):
    """Returns d sum(fn(inputs)) / d inputs, differentiable w.r.t. the variables `fn` reads.

    Args:
      fn: Callable of one tensor, e.g. a critic's outputs for a batch.
      inputs: The tensor to differentiate with respect to.
    """
    return _layer().input_gradients(fn, inputs)


def apply_gradients(optimizer, gradients, variables):
    """Applies one `optimizer` update of `variables` (a `LossScaleOptimizer` unscales the
    gradients and skips the update when they overflowed)."""
    return _layer().apply_gradients(optimizer, gradients, variables)


def run_step(step, variable_groups, *args):
    """Runs `step(data)`, a stateful step, as the backend's trainer calls `train_step`.

    Args:
      step: Callable `data -> logs` that changes variables in place.
      variable_groups: The variable lists of the JAX trainer's state, in its
        order (e.g. trainable, non-trainable, optimizer and metrics variables);
        unused on TensorFlow and PyTorch.
      *args: `train_step`'s arguments: `(data,)`, or `(state, data)` on JAX.

    Returns:
      The logs; on JAX `(logs, new_state)`.
    """
    return _layer().run_step(step, variable_groups, *args)
