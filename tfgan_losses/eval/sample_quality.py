"""Sample quality while training: a classifier score and a Fréchet distance in `logs`.

TF-GAN ran an evaluation job beside training that logged the MNIST score and
the Fréchet distance of the generator. `SampleQuality` does that inside `fit`:
every few steps (or epochs) it samples the generator as it would be exported
(the weight average swapped in, batch norm recalibrated for those weights,
inference mode) and puts

    classifier score  = exp(E_x KL(p(y|x) || p(y)))                 (1606.03498)
    Fréchet distance  = |mu_r - mu_g|^2 + Tr(C_r + C_g - 2 (C_r C_g)^(1/2))   (1706.08500)

of a fixed set of generator inputs, against a fixed set of real images, into
`logs`, where the progress bar, the `History`, `keras.callbacks.TensorBoard`
and `keras.callbacks.CSVLogger` see them. Training state is left as it was.

`score_samples` is the computation itself, shared with `eval.py`, so that the
numbers logged in training, published by `bench/quality.py` and printed by
`eval.py` come from one code path.
"""

import numpy as np

import keras

from tfgan_losses.eval.batching import run_classifier_in_batches
from tfgan_losses.eval.classifier_score import classifier_score_from_logits
from tfgan_losses.eval.frechet_distance import frechet_classifier_distance_from_activations
from tfgan_losses.training.batch_norm import batch_norm_layers, recalibrate_batch_norm


def score_samples(generated_images, real_images, classifier_fn, features_fn=None,
                  batch_size=500):
    """Classifier score of `generated_images` and their Fréchet distance to `real_images`.

    Args:
      generated_images: Array-like [N, ...] of generated images, or their
        `ClassifierActivations` computed before.
      real_images: Array-like [M, ...] of real images, or their
        `ClassifierActivations` (to score many generators against one real set).
      classifier_fn: Maps a batch of images to logits [batch, classes].
      features_fn: Maps a batch of images to the activations of the Fréchet
        distance; default `classifier_fn` (TF-GAN's MNIST metrics use logits).
      batch_size: Images per classifier call.

    Returns:
      A dict of Python floats: `score`, `real_score` (the same score on the
      real images) and `frechet_distance`.

    Example:

      scores = score_samples(generated, test_images, mnist_classifier_fn)
      scores["score"] / scores["real_score"]  # ~0.9 for a good MNIST generator
    """
    generated, real = (
        images if isinstance(images, ClassifierActivations)
        else ClassifierActivations(images, classifier_fn, features_fn, batch_size)
        for images in (generated_images, real_images))
    return {
        "score": generated.score,
        "real_score": real.score,
        "frechet_distance": float(
            frechet_classifier_distance_from_activations(real.features, generated.features)),
    }


class ClassifierActivations:
    """A classifier's view of a set of images, computed once.

    Attributes:
      logits: The classifier's logits of the images.
      features: The activations of the Fréchet distance (the logits without
        `features_fn`).
      score: The images' classifier score, a Python float.
    """

    def __init__(self, images, classifier_fn, features_fn=None, batch_size=500):
        self.logits = run_classifier_in_batches(images, classifier_fn, batch_size)
        self.features = (self.logits if features_fn is None
                         else run_classifier_in_batches(images, features_fn, batch_size))
        self.score = float(classifier_score_from_logits(self.logits))


def _batches(inputs, batch_size):
    """Splits an array, or a list of arrays (several generator inputs), into batches."""
    count = len(inputs[0]) if isinstance(inputs, (list, tuple)) else len(inputs)
    for start in range(0, count, batch_size):
        if isinstance(inputs, (list, tuple)):
            yield [np.asarray(x)[start:start + batch_size] for x in inputs]
        else:
            yield np.asarray(inputs)[start:start + batch_size]


class SampleQuality(keras.callbacks.Callback):
    """Logs the classifier score and Fréchet distance of the exported generator while training.

    For a `GANModel` (or subclass) being fit. At each measurement, inside
    `model.generator_average()`: the weight average is swapped in (if the
    model keeps one), the generator's batch-norm statistics are recalibrated
    for those weights (`recalibrate_batch_norm`, if it has batch norm), and
    the generator maps `generator_inputs` to images in inference mode, as an
    exported generator would. On leaving, every generator variable gets back
    its value; the callback draws no noise from the model, so the training
    noise stream is untouched too.

    The values go into the batch's `logs` (measured every `every_n_steps`
    global steps) or the epoch's (measured every `every_n_epochs` epochs);
    the last measured values are also put into every later epoch's `logs`,
    so the `History` and `CSVLogger` have them each epoch. Place this
    callback before `TensorBoard` and `CSVLogger` in the `callbacks` list:
    Keras calls callbacks in order, with one `logs` dict.

    Args:
      classifier_fn: Maps a batch of images to logits [batch, classes].
      real_images: Fixed real images [M, ...] (their activations are
        computed at the first measurement and kept).
      generator_inputs: Fixed generator inputs for the samples: an array
        [N, ...] or a list of arrays (one per generator input), N rows.
      every_n_steps: Measure after every train step whose global step is a
        multiple of this. None (default): measure at epoch ends instead.
      every_n_epochs: With `every_n_steps=None`, measure at the end of every
        this-many-th epoch.
      features_fn: Activations for the Fréchet distance; default the logits.
      recalibration_inputs: Batches of generator inputs for the batch-norm
        recalibration; default `generator_inputs` in batches of `batch_size`.
      batch_size: Images per generator and classifier call.
      score_name: Log key of the classifier score.
      distance_name: Log key of the Fréchet distance.

    Raises:
      ValueError: If neither or both of a positive `every_n_steps` and
        `every_n_epochs` are given, or `generator_inputs` is empty.

    Example:

      quality = SampleQuality(mnist_classifier_fn, test_images[:2000],
                              np.random.normal(size=(2000, 64)).astype("float32"),
                              every_n_steps=500, score_name="mnist_score")
      gan.fit(dataset, epochs=4, steps_per_epoch=500,
              callbacks=[quality, keras.callbacks.CSVLogger("log.csv")])
    """

    def __init__(self, classifier_fn, real_images, generator_inputs, *, every_n_steps=None,
                 every_n_epochs=1, features_fn=None, recalibration_inputs=None, batch_size=500,
                 score_name="classifier_score", distance_name="frechet_distance"):
        super().__init__()
        if every_n_steps is not None:
            if not isinstance(every_n_steps, int) or every_n_steps < 1:
                raise ValueError(f"every_n_steps must be a positive int or None, got "
                                 f"{every_n_steps!r}.")
        elif not isinstance(every_n_epochs, int) or every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be a positive int, got {every_n_epochs!r}.")
        first_input = generator_inputs[0] if isinstance(generator_inputs, (list, tuple)) \
            else generator_inputs
        if len(first_input) == 0:
            raise ValueError("generator_inputs must hold at least one example.")
        self.classifier_fn, self.features_fn = classifier_fn, features_fn
        self.real_images, self.generator_inputs = real_images, generator_inputs
        self.every_n_steps, self.every_n_epochs = every_n_steps, every_n_epochs
        self.recalibration_inputs = recalibration_inputs
        self.batch_size = batch_size
        self.score_name, self.distance_name = score_name, distance_name
        self.latest = {}
        self._real = None

    def real_activations(self):
        """`ClassifierActivations` of `real_images`, computed at the first call."""
        if self._real is None:
            self._real = ClassifierActivations(self.real_images, self.classifier_fn,
                                               self.features_fn, self.batch_size)
        return self._real

    def measure(self):
        """Samples the generator as exported and scores it; returns the log entries."""
        gan = self.model
        with gan.generator_average():
            if batch_norm_layers(gan.generator):
                recalibrate_batch_norm(gan.generator, self.recalibration_inputs or list(
                    _batches(self.generator_inputs, self.batch_size)))
            images = np.concatenate([
                keras.ops.convert_to_numpy(gan.generator(batch, training=False))
                for batch in _batches(self.generator_inputs, self.batch_size)])
        scores = score_samples(images, self.real_activations(), self.classifier_fn,
                               self.features_fn, self.batch_size)
        self.latest = {self.score_name: scores["score"],
                       self.distance_name: scores["frechet_distance"]}
        return self.latest

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self.model.global_step % self.every_n_steps == 0:
            measured = self.measure()
            if logs is not None:
                logs.update(measured)

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is None and (epoch + 1) % self.every_n_epochs == 0:
            self.measure()
        if logs is not None:
            logs.update(self.latest)
