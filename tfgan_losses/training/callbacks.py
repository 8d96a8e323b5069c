"""Callbacks for `GANModel.fit`: weight clipping, NaN guard, checkpoints, summaries."""

import numbers
import os

import keras
import numpy as np


class ClipWeights(keras.callbacks.Callback):
    """Clips the discriminator's weights to [-clip_value, clip_value] (WGAN).

    Arjovsky et al., "Wasserstein GAN", https://arxiv.org/abs/1701.07875,
    Algorithm 1: the critic's weights are clipped right after each of its
    updates. A callback alone runs only between whole train steps, which with
    `discriminator_steps > 1` would let later critic updates, and the generator
    update, see unclipped weights. So this callback installs the clip *inside*
    the step: at the start of `fit` it sets `model.discriminator_clip_value`,
    which makes `GANModel.train_step` clip after every discriminator update, and
    rebuilds the train function; at the end of `fit` it restores the previous
    value (and `GANModel.fit` restores it when training raises, where Keras
    calls no `on_train_end`).

    Args:
      clip_value: Bound c > 0; WGAN's default is 0.01.

    Raises:
      ValueError: If `clip_value` is not a positive number.

    Example:
      >>> gan.fit(dataset, epochs=5, callbacks=[ClipWeights(0.01)])
    """

    def __init__(self, clip_value=0.01):
        super().__init__()
        if not isinstance(clip_value, numbers.Real) or not clip_value > 0:
            raise ValueError(f"`clip_value` must be a positive number; got {clip_value!r}.")
        self.clip_value = float(clip_value)
        self._previous_clip_value = None

    def on_train_begin(self, logs=None):
        self._previous_clip_value = self.model.discriminator_clip_value
        self.model.discriminator_clip_value = self.clip_value  # Drops a stale train function.
        if self.model.train_function is None:
            self.model.make_train_function()

    def on_train_end(self, logs=None):
        self.model.discriminator_clip_value = self._previous_clip_value


class TerminateOnNonFinite(keras.callbacks.Callback):
    """Stops training with `FloatingPointError` when a logged value is NaN or infinite.

    Keras's `TerminateOnNaN` watches only the `loss` key, which a GAN model does
    not log; this one checks every value, after every batch, and raises instead
    of ending `fit` quietly.
    """

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                raise FloatingPointError(
                    f"Training diverged: `{key}` is {value} at batch {batch}. The last "
                    "checkpoint holds the state before the divergence.")


def check_finite_weights(model, what):
    """Raises `FloatingPointError` if a weight of `model`, or of its optimizers, is NaN
    or infinite; `what` names the model in the message."""
    optimizers = [getattr(model, name, None) for name in
                  ("optimizer", "generator_optimizer", "discriminator_optimizer")]
    variables = list(model.weights) + [
        variable for optimizer in optimizers if optimizer is not None
        for variable in optimizer.variables]
    for variable in variables:
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable))):
            raise FloatingPointError(
                f"Training diverged: {what} holds non-finite values in `{variable.path}`. "
                "Nothing was saved; the last checkpoint holds the state before the "
                "divergence.")


def atomic_save(model, path):
    """Saves `model` as a `.keras` file so that a crash never leaves a partial file.

    Writes beside the target, then renames over it (an atomic replace on POSIX).
    """
    temporary = f"{path}.partial.keras"
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class GANCheckpoint(keras.callbacks.Callback):
    """Saves the whole GAN model (networks, both optimizers, seed state) every epoch.

    Use epochs of `save_interval_steps` steps so that a crash or kill loses at
    most that many steps; `keras.models.load_model(path)` resumes. A model whose
    weights or optimizer state hold a NaN or infinity is not saved: training
    stops with `FloatingPointError` and the last checkpoint stays.

    Args:
      path: Target `.keras` file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        check_finite_weights(self.model, "the model to checkpoint")
        atomic_save(self.model, self.path)


class StopAtStep(keras.callbacks.Callback):
    """Ends `fit` once `model.global_step` reaches `last_step`.

    Args:
      last_step: The global step at which to stop.
    """

    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch, logs=None):
        if self.model.global_step >= self.last_step:
            self.model.stop_training = True


class GANSummaries(keras.callbacks.Callback):
    """Writes TensorBoard scalars and an image grid of samples, indexed by global step.

    The grid uses fixed noise and the generator's current weights in inference
    mode (batch-norm moving statistics). train.py's final `samples.png` and
    export use the weight average with recalibrated batch norm instead.

    Args:
      log_dir: TensorBoard directory.
      generator_inputs: Fixed inputs for the grid, e.g. noise of shape
        [grid_size**2, noise_dims].
      grid_size: Images per side of the square grid.
      every_n_steps: Summary period in steps.
    """

    def __init__(self, log_dir, generator_inputs, grid_size, every_n_steps=100):
        super().__init__()
        import tensorflow as tf  # TensorBoard's writer, on every backend.

        self._summary = tf.summary
        self.writer = tf.summary.create_file_writer(log_dir)
        self.generator_inputs = generator_inputs
        self.grid_size = grid_size
        self.every_n_steps = every_n_steps

    def sample_grid(self):
        """Returns the sample grid as a uint8 array [height, width, channels]."""
        from tfgan_losses.eval.image_grid import image_grid_uint8  # Imports TensorFlow.

        images = self.model.generator(self.generator_inputs, training=False)
        return image_grid_uint8(keras.ops.convert_to_numpy(images), self.grid_size)

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.global_step
        if step % self.every_n_steps:
            return
        with self.writer.as_default(step=step):
            for key, value in (logs or {}).items():
                self._summary.scalar(key, float(value))
            self._summary.image("generated_images", self.sample_grid()[None], max_outputs=1)
        self.writer.flush()

