"""Random draws and loss scaling that stay correct under `tf.distribute`.

Under a `MirroredStrategy` every replica runs the same train step on its own
slice of the global batch, with identical copies of the model's
`SeedGenerator`. Drawing the noise for "my" `batch_size` examples directly
would give every replica the *same* noise. Instead each replica draws for the
whole global batch and keeps its own slice: replicas get independent noise,
and the union of the slices equals what one device would draw for the same
global batch, so distributed and single-device training match exactly.

Gradients are all-reduced by summing, so per-replica losses are divided by
the number of replicas to make the sum the global-batch mean.

On JAX (`keras.distribution.DataParallel`) and PyTorch a step computes on the
global batch, so there is one replica and these functions change nothing;
TensorFlow is imported only on the TensorFlow backend.
"""

import contextlib

import keras


def _tf_distribute():
    """`tf.distribute` on the TensorFlow backend, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.distribute


def num_replicas():
    """Replicas in sync in the current `tf.distribute` context (1 outside any)."""
    distribute = _tf_distribute()
    return 1 if distribute is None else distribute.get_strategy().num_replicas_in_sync


def strategy_scope(model):
    """The scope of `model`'s `tf.distribute` strategy; a no-op on other backends."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def replica_slice_draw(draw, batch_size):
    """Returns this replica's `batch_size` rows of `draw(global_batch_size)`.

    Args:
      draw: Callable `n -> tensor` with `n` rows, e.g. `lambda n:
        keras.random.normal((n, 64), seed=seed_generator)`.
      batch_size: Rows per replica (an int or scalar tensor).

    Returns:
      `draw(batch_size)` outside `tf.distribute`; else replica r's rows
      `[r * batch_size, (r + 1) * batch_size)` of `draw(replicas * batch_size)`.
    """
    distribute = _tf_distribute()
    context = None if distribute is None else distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    if replicas == 1:
        return draw(batch_size)
    start = context.replica_id_in_sync_group * batch_size
    return draw(replicas * batch_size)[start:start + batch_size]


def scale_loss_for_replicas(loss):
    """Divides a per-replica loss by the replica count, for summed gradients."""
    replicas = num_replicas()
    return loss if replicas == 1 else loss / replicas
