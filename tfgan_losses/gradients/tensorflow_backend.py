"""Gradients and updates on TensorFlow: `tf.GradientTape` and stateful optimizers."""

import keras
import tensorflow as tf
from keras import ops


def value_and_gradients(fn, variables, differentiable_outputs=False):
    """See `tfgan_losses.gradients.value_and_gradients` (outputs stay differentiable here)."""
    del differentiable_outputs
    with tf.GradientTape() as tape:
        outputs = fn()
    return outputs, tape.gradient(outputs[0], variables)


def input_gradients(fn, inputs):
    """See `tfgan_losses.gradients.input_gradients`."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = fn(inputs)
    return tape.gradient(outputs, inputs)


def _non_finite_on_every_replica_if_on_one(gradients):
    """Makes this replica's gradients non-finite when any replica's are.

    Keras's `LossScaleOptimizer` skips a step whose gradients overflowed, but under
    `tf.distribute` it judges the first replica's gradients before the replicas' are
    summed: an overflow on another replica alone would reach the weights. Dividing
    one gradient by 1, or by 0 when any replica counted a non-finite gradient, makes
    every replica see what any replica saw.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return gradients
    present = [index for index, gradient in enumerate(gradients) if gradient is not None]
    finite = ops.all(ops.stack([ops.all(ops.isfinite(gradients[i])) for i in present]))
    non_finite_replicas = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                             ops.cast(ops.logical_not(finite), "float32"))
    finite_everywhere = ops.equal(non_finite_replicas, 0.0)
    gradients = list(gradients)
    first = present[0]
    gradients[first] = gradients[first] / ops.cast(finite_everywhere, gradients[first].dtype)
    return gradients


def apply_gradients(optimizer, gradients, variables):
    """See `tfgan_losses.gradients.apply_gradients`."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        gradients = _non_finite_on_every_replica_if_on_one(gradients)
    optimizer.apply(gradients, variables)


def run_step(step, variable_groups, data):
    """See `tfgan_losses.gradients.run_step`: Keras's TensorFlow trainer calls
    `train_step(data)`, and the step changes the variables in place."""
    del variable_groups
    return step(data)
