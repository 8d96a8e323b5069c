"""TF-GAN's evaluation metrics (`tfgan.eval`), in TensorFlow 2 eager style.

Classifier-based metrics take any `classifier_fn` mapping a batch of images
to logits or activations (e.g. a Keras model) and run it batch by batch:

* classifier score (Inception score), https://arxiv.org/abs/1606.03498;
* Fréchet classifier distance (FID) and its mean-only / diagonal-only
  variants, https://arxiv.org/abs/1706.08500;
* kernel classifier distance (KID), https://arxiv.org/abs/1801.01401.

`SampleQuality` is a Keras callback that logs the classifier score and the
Fréchet distance of a GAN's generator, as it would be exported, while it trains
(`score_samples` is its computation).

The sliced Wasserstein distance (https://arxiv.org/abs/1710.10196) compares
image patches directly, and `image_grid` / `image_reshaper` tile images for
inspection.
"""

from tfgan_losses.eval.batching import run_classifier_fn, run_classifier_in_batches
from tfgan_losses.eval.classifier_score import classifier_score, classifier_score_from_logits
from tfgan_losses.eval.frechet_distance import (
    diagonal_only_frechet_classifier_distance_from_activations,
    frechet_classifier_distance,
    frechet_classifier_distance_from_activations,
    mean_only_frechet_classifier_distance_from_activations,
)
from tfgan_losses.eval.image_grid import image_grid, image_reshaper
from tfgan_losses.eval.kernel_distance import (
    kernel_classifier_distance,
    kernel_classifier_distance_and_std,
    kernel_classifier_distance_and_std_from_activations,
    kernel_classifier_distance_from_activations,
)
from tfgan_losses.eval.sample_quality import SampleQuality, score_samples
from tfgan_losses.eval.sliced_wasserstein import sliced_wasserstein_distance

__all__ = [
    "classifier_score",
    "classifier_score_from_logits",
    "diagonal_only_frechet_classifier_distance_from_activations",
    "frechet_classifier_distance",
    "frechet_classifier_distance_from_activations",
    "image_grid",
    "image_reshaper",
    "kernel_classifier_distance",
    "kernel_classifier_distance_and_std",
    "kernel_classifier_distance_and_std_from_activations",
    "kernel_classifier_distance_from_activations",
    "mean_only_frechet_classifier_distance_from_activations",
    "run_classifier_fn",
    "run_classifier_in_batches",
    "SampleQuality",
    "score_samples",
    "sliced_wasserstein_distance",
]
