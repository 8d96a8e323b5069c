"""Fréchet classifier distance (FID for an arbitrary classifier) and variants.

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", https://arxiv.org/abs/1706.08500.

Each set of activations is summarised by a Gaussian (sample mean m and
covariance C); the distance between the Gaussians of the real set (m1, C1) and
the generated set (m2, C2) is

    ||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)).

With sample statistics the estimate is biased, more so for small sample
sizes (two samples of the same distribution give a positive value), so only
compare distances computed from the same number of samples. As in TF-GAN, all
statistics are computed in float64 and the result is cast back to the dtype of
the activations.
"""

import tensorflow as tf

from tfgan_losses.eval import _validation, batching

# Singular values below this are treated as zero by the matrix square root
# (TF-GAN's guard against the instability of sqrt near 0).
_SQRT_EPS = 1e-10


def _float64_activation_pair(real_activations, generated_activations):
    """Validates both activation sets; returns them in float64 and their dtype."""
    real = _validation.as_float_matrix(real_activations, "real_activations")
    generated = _validation.as_float_matrix(generated_activations, "generated_activations")
    _validation.check_same_dim(real, generated, "real_activations", "generated_activations")
    return tf.cast(real, tf.float64), tf.cast(generated, tf.float64), real.dtype


def _squared_mean_distance(real, generated):
    """||mean(real) - mean(generated)||^2 of two [num_samples, dim] tensors."""
    return tf.reduce_sum(
        tf.math.squared_difference(tf.reduce_mean(real, axis=0), tf.reduce_mean(generated, axis=0))
    )


def _unbiased_covariance(activations):
    """Sample covariance of the rows of `activations`, divided by n - 1."""
    centered = activations - tf.reduce_mean(activations, axis=0)
    num_samples = tf.cast(tf.shape(activations)[0], activations.dtype)
    return tf.matmul(centered, centered, transpose_a=True) / (num_samples - 1)


def _symmetric_matrix_square_root(matrix):
    """Square root M of a symmetric PSD `matrix`, i.e. M @ M = matrix.

    Uses the singular value decomposition U diag(s) V^T (equal to the
    eigendecomposition for a symmetric PSD matrix) and returns
    U diag(sqrt(s)) V^T, leaving singular values below `_SQRT_EPS` unrooted, as
    TF-GAN does.
    """
    s, u, v = tf.linalg.svd(matrix)
    sqrt_s = tf.where(s < _SQRT_EPS, s, tf.sqrt(s))
    return tf.matmul(u * sqrt_s, v, transpose_b=True)


def trace_sqrt_product(sigma, sigma_v):
    """Trace of the principal square root of `sigma @ sigma_v`.

    The product of two symmetric PSD matrices is not symmetric, so its square
    root is not computed directly. With A = sqrt(sigma), the matrices
    sigma sigma_v = A A sigma_v and A sigma_v A share their eigenvalues, hence

        Tr(sqrt(sigma sigma_v)) = Tr(sqrt(A sigma_v A)),

    and A sigma_v A is symmetric PSD, so both roots come from a symmetric
    decomposition (TF-GAN's `trace_sqrt_product`).

    Args:
      sigma: Symmetric PSD matrix [dim, dim] (a covariance matrix).
      sigma_v: Symmetric PSD matrix of the same shape and dtype.

    Returns:
      A scalar tensor with the dtype of the inputs.
    """
    sqrt_sigma = _symmetric_matrix_square_root(sigma)
    sqrt_a_sigmav_a = tf.matmul(sqrt_sigma, tf.matmul(sigma_v, sqrt_sigma))
    return tf.linalg.trace(_symmetric_matrix_square_root(sqrt_a_sigmav_a))


@_validation.accepts_aliases(activations1="real_activations", activations2="generated_activations")
def frechet_classifier_distance_from_activations(real_activations, generated_activations):
    """Fréchet distance between two sets of precomputed activations.

        FID = ||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)),

    with m the sample means and C the unbiased sample covariances (divided by
    n - 1) of `real_activations` and `generated_activations`, computed in
    float64; Tr((C1 C2)^(1/2)) comes from `trace_sqrt_product`. See
    https://arxiv.org/abs/1706.08500. The value is >= 0 up to rounding, and 0
    for identical sets.

    Args:
      real_activations: Floating-point array-like [num_real, dim], num_real >= 2.
      generated_activations: Floating-point array-like [num_generated, dim],
        num_generated >= 2; the sample counts may differ.

      TF-GAN 2.1.0's keywords `activations1` and `activations2` are accepted as
      aliases of `real_activations` and `generated_activations` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      The Fréchet distance, a scalar tensor with the dtype of
      `real_activations`.

    Raises:
      ValueError: If an input is not rank-2 floating point, the feature
        dimensions differ, or a set has fewer than 2 samples.

    Example:
      >>> real = np.random.randn(1000, 64)
      >>> frechet_classifier_distance_from_activations(real, real + 1.0)  # ~64
    """
    real, generated, dtype = _float64_activation_pair(real_activations, generated_activations)
    for tensor, name in ((real, "real_activations"), (generated, "generated_activations")):
        _validation.check_min_rows(tensor, name, 2, "to estimate a covariance")
    sigma = _unbiased_covariance(real)
    sigma_w = _unbiased_covariance(generated)
    trace = tf.linalg.trace(sigma + sigma_w) - 2.0 * trace_sqrt_product(sigma, sigma_w)
    return tf.cast(trace + _squared_mean_distance(real, generated), dtype)


@_validation.accepts_aliases(input_tensor1="real_images", input_tensor2="generated_images")
def frechet_classifier_distance(real_images, generated_images, classifier_fn, num_batches=1):
    """Fréchet classifier distance between two image sets.

    Runs `classifier_fn` on each set split into `num_batches` batches, then
    returns `frechet_classifier_distance_from_activations` of the outputs:

        ||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)),
        https://arxiv.org/abs/1706.08500.

    Args:
      real_images: Array-like of inputs for `classifier_fn`, first axis indexing
        examples; at least 2 examples.
      generated_images: Same as `real_images` for the generated set (the number
        of examples may differ).
      classifier_fn: Callable mapping a batch of images to activations
        [batch_size, dim] (e.g. a Keras model truncated at its penultimate
        layer).
      num_batches: Positive int dividing the number of examples of both sets.

      TF-GAN 2.1.0's keywords `input_tensor1` and `input_tensor2` are accepted
      as aliases of `real_images` and `generated_images` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      The Fréchet distance, a scalar tensor with the dtype of the activations.

    Raises:
      ValueError: If `num_batches` does not divide a set's size, or the
        activations are invalid (see
        `frechet_classifier_distance_from_activations`).

    Example:
      >>> fid = frechet_classifier_distance(real_images, generated_images,
      ...                                   embedding_model, num_batches=10)
    """
    return frechet_classifier_distance_from_activations(
        batching.run_classifier_fn(real_images, classifier_fn, num_batches),
        batching.run_classifier_fn(generated_images, classifier_fn, num_batches),
    )


@_validation.accepts_aliases(activations1="real_activations", activations2="generated_activations")
def mean_only_frechet_classifier_distance_from_activations(real_activations, generated_activations):
    """Mean term of the Fréchet distance: ||m1 - m2||^2.

    Uses O(dim) memory instead of O(dim^2) and keeps much of the information of
    the full distance (https://arxiv.org/abs/1706.08500). Computed in float64.

    Args:
      real_activations: Floating-point array-like [num_real, dim], num_real >= 1.
      generated_activations: Floating-point array-like [num_generated, dim].

      TF-GAN 2.1.0's keywords `activations1` and `activations2` are accepted as
      aliases of `real_activations` and `generated_activations` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      A scalar tensor with the dtype of `real_activations`.

    Raises:
      ValueError: If an input is not non-empty rank-2 floating point, or the
        feature dimensions differ.

    Example:
      >>> mean_only_frechet_classifier_distance_from_activations(
      ...     np.zeros((4, 3)), np.ones((4, 3)))  # 3.0
    """
    real, generated, dtype = _float64_activation_pair(real_activations, generated_activations)
    return tf.cast(_squared_mean_distance(real, generated), dtype)


@_validation.accepts_aliases(activations1="real_activations", activations2="generated_activations")
def diagonal_only_frechet_classifier_distance_from_activations(
    real_activations, generated_activations
):
    """Fréchet distance between Gaussians with diagonal covariances.

        ||m1 - m2||^2 + sum_i (v1_i + v2_i - 2 sqrt(v1_i v2_i)),

    where v are the per-feature variances. As in TF-GAN these are population
    variances (`tf.nn.moments`, divided by n, not n - 1). Avoids the matrix
    square root and uses O(dim) memory (https://arxiv.org/abs/1706.08500).
    Computed in float64.

    Args:
      real_activations: Floating-point array-like [num_real, dim], num_real >= 1.
      generated_activations: Floating-point array-like [num_generated, dim].

      TF-GAN 2.1.0's keywords `activations1` and `activations2` are accepted as
      aliases of `real_activations` and `generated_activations` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      A scalar tensor with the dtype of `real_activations`.

    Raises:
      ValueError: If an input is not non-empty rank-2 floating point, or the
        feature dimensions differ.

    Example:
      >>> x = np.random.randn(1000, 8)
      >>> diagonal_only_frechet_classifier_distance_from_activations(x, 2 * x)
    """
    real, generated, dtype = _float64_activation_pair(real_activations, generated_activations)
    _, var = tf.nn.moments(real, axes=[0])
    _, var_w = tf.nn.moments(generated, axes=[0])
    trace = tf.reduce_sum(var + var_w - 2.0 * tf.sqrt(var * var_w))
    return tf.cast(trace + _squared_mean_distance(real, generated), dtype)
