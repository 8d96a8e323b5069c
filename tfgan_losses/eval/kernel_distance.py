"""Kernel classifier distance (KID for an arbitrary classifier).

Bińkowski et al., "Demystifying MMD GANs", https://arxiv.org/abs/1801.01401.

The distance is the squared maximum mean discrepancy between the real (P) and
generated (Q) activation distributions,

    MMD^2 = E_{x, x' ~ P}[k(x, x')] + E_{y, y' ~ Q}[k(y, y')]
            - 2 E_{x ~ P, y ~ Q}[k(x, y)],

with the cubic polynomial kernel k(x, y) = (x . y / dim + 1)^3. Unlike the
Fréchet distance its estimator is unbiased. As in TF-GAN, the samples are
split into blocks of at most `max_block_size` rows (the block estimator of
https://arxiv.org/abs/1307.1954): the unbiased MMD^2 estimate of each block
is computed and the estimates are averaged, so the cost is quadratic in the
block size, not in the sample count. The blocking assumes both sets are in
random order.
"""

import math

import tensorflow as tf

from tfgan_losses.eval import _validation, batching


def _block_sizes(num_samples, num_blocks):
    """Splits `num_samples` into `num_blocks` sizes, larger blocks last."""
    base, num_larger = divmod(num_samples, num_blocks)
    return [base] * (num_blocks - num_larger) + [base + 1] * num_larger


def _polynomial_kernel(x, y):
    """(x . y / dim + 1)^3 for every row pair of `x` and `y`."""
    dim = tf.cast(tf.shape(x)[1], x.dtype)
    return (tf.matmul(x, y, transpose_b=True) / dim + 1) ** 3


def _unbiased_mmd2(real, generated):
    """Unbiased MMD^2 estimate of two blocks of >= 2 rows each."""
    m = tf.cast(tf.shape(real)[0], real.dtype)
    n = tf.cast(tf.shape(generated)[0], real.dtype)
    k_rr = _polynomial_kernel(real, real)
    k_gg = _polynomial_kernel(generated, generated)
    k_rg = _polynomial_kernel(real, generated)
    # The diagonals k(x, x) are left out of the within-set means.
    return (
        (tf.reduce_sum(k_rr) - tf.linalg.trace(k_rr)) / (m * (m - 1))
        + (tf.reduce_sum(k_gg) - tf.linalg.trace(k_gg)) / (n * (n - 1))
        - 2 * tf.reduce_mean(k_rg)
    )


@_validation.accepts_aliases(activations1="real_activations", activations2="generated_activations")
def kernel_classifier_distance_and_std_from_activations(
    real_activations, generated_activations, max_block_size=1024, dtype=None
):
    """Kernel distance (KID) of precomputed activations and its standard error.

    The samples are split into B = ceil(max(n_real, n_generated) /
    max_block_size) blocks of near-equal size (the same B for both sets), the
    unbiased MMD^2 with kernel (x . y / dim + 1)^3 is estimated on each pair of
    blocks, and the function returns the mean of the B estimates and the
    standard error sqrt(var / B), var being their Bessel-corrected variance
    (NaN when B = 1). See https://arxiv.org/abs/1801.01401. Smaller blocks lower
    the cost and give a better error estimate but increase the variance.

    Args:
      real_activations: Floating-point array-like [n_real, dim].
      generated_activations: Floating-point array-like [n_generated, dim], same
        dtype as `real_activations` unless `dtype` is given.
      max_block_size: Positive int, the largest block size. Every block needs at
        least 2 rows of each set.
      dtype: Optional floating dtype to cast both inputs to before computing
        (e.g. `tf.float64`); by default the dtype of the inputs is kept, as in
        TF-GAN.

      TF-GAN 2.1.0's keywords `activations1` and `activations2` are accepted as
      aliases of `real_activations` and `generated_activations` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      A pair (distance, standard_error) of scalar tensors of the computation
      dtype.

    Raises:
      ValueError: If an input is not rank-2 floating point, the feature
        dimensions or dtypes differ, `max_block_size` is not a positive int, or
        a block would get fewer than 2 rows of a set.

    Example:
      >>> kid, kid_std = kernel_classifier_distance_and_std_from_activations(
      ...     real_activations, generated_activations, max_block_size=500)
    """
    real = _validation.as_float_matrix(real_activations, "real_activations")
    generated = _validation.as_float_matrix(generated_activations, "generated_activations")
    _validation.check_same_dim(real, generated, "real_activations", "generated_activations")
    _validation.check_positive_int(max_block_size, "max_block_size")
    if dtype is not None:
        real, generated = tf.cast(real, dtype), tf.cast(generated, dtype)
    elif real.dtype != generated.dtype:
        raise ValueError(
            "`real_activations` and `generated_activations` must have the same "
            f"dtype (or pass `dtype`), got {real.dtype.name} and "
            f"{generated.dtype.name}."
        )

    n_real, n_generated = real.shape[0], generated.shape[0]
    num_blocks = math.ceil(max(n_real, n_generated) / max_block_size)
    for rows, name in ((n_real, "real_activations"), (n_generated, "generated_activations")):
        if rows // num_blocks < 2:
            raise ValueError(
                f"`{name}` needs at least 2 samples per block, got {rows} samples "
                f"for {num_blocks} blocks (max_block_size={max_block_size})."
            )

    real_blocks = tf.split(real, _block_sizes(n_real, num_blocks))
    generated_blocks = tf.split(generated, _block_sizes(n_generated, num_blocks))
    estimates = tf.stack(
        [_unbiased_mmd2(r, g) for r, g in zip(real_blocks, generated_blocks, strict=True)]
    )
    mean = tf.reduce_mean(estimates)
    if num_blocks == 1:
        variance = tf.constant(float("nan"), estimates.dtype)
    else:
        variance = tf.reduce_sum(tf.square(estimates - mean)) / (num_blocks - 1)
    return mean, tf.sqrt(variance / num_blocks)


@_validation.accepts_aliases(activations1="real_activations", activations2="generated_activations")
def kernel_classifier_distance_from_activations(
    real_activations, generated_activations, max_block_size=1024, dtype=None
):
    """Kernel distance (KID) of precomputed activations.

    The mean over blocks of the unbiased MMD^2 estimate with the kernel
    (x . y / dim + 1)^3; see
    `kernel_classifier_distance_and_std_from_activations` for the block
    estimator, the arguments and the errors (https://arxiv.org/abs/1801.01401),
    including the TF-GAN 2.1.0 keywords `activations1` and `activations2`
    accepted as aliases of `real_activations` and `generated_activations`.

    Returns:
      The distance, a scalar tensor of the computation dtype. It can be slightly
      negative, the estimator being unbiased.

    Example:
      >>> kernel_classifier_distance_from_activations(real_acts, generated_acts)
    """
    return kernel_classifier_distance_and_std_from_activations(
        real_activations, generated_activations, max_block_size, dtype
    )[0]


@_validation.accepts_aliases(input_tensor1="real_images", input_tensor2="generated_images")
def kernel_classifier_distance_and_std(
    real_images, generated_images, classifier_fn, num_batches=1, max_block_size=1024, dtype=None
):
    """Kernel distance (KID) between two image sets and its standard error.

    Runs `classifier_fn` on each set split into `num_batches` batches, then
    returns `kernel_classifier_distance_and_std_from_activations` of the
    outputs (https://arxiv.org/abs/1801.01401).

    Args:
      real_images: Array-like of inputs for `classifier_fn`, first axis indexing
        examples.
      generated_images: Same for the generated set (the count may differ).
      classifier_fn: Callable mapping a batch of images to activations
        [batch_size, dim], e.g. a Keras model.
      num_batches: Positive int dividing the number of examples of both sets.
      max_block_size: Positive int, the largest block of the estimator.
      dtype: Optional dtype to cast the activations to.

      TF-GAN 2.1.0's keywords `input_tensor1` and `input_tensor2` are accepted
      as aliases of `real_images` and `generated_images` (keyword only;
      passing both spellings of one argument raises `ValueError`).

    Returns:
      A pair (distance, standard_error) of scalar tensors.

    Raises:
      ValueError: If `num_batches` does not divide a set's size, or the
        activations or block settings are invalid.

    Example:
      >>> kid, kid_std = kernel_classifier_distance_and_std(
      ...     real_images, generated_images, embedding_model, num_batches=10)
    """
    return kernel_classifier_distance_and_std_from_activations(
        batching.run_classifier_fn(real_images, classifier_fn, num_batches),
        batching.run_classifier_fn(generated_images, classifier_fn, num_batches),
        max_block_size,
        dtype,
    )


@_validation.accepts_aliases(input_tensor1="real_images", input_tensor2="generated_images")
def kernel_classifier_distance(
    real_images, generated_images, classifier_fn, num_batches=1, max_block_size=1024, dtype=None
):
    """Kernel distance (KID) between two image sets.

    The first output of `kernel_classifier_distance_and_std`, which documents
    the arguments (https://arxiv.org/abs/1801.01401), including the TF-GAN
    2.1.0 keywords `input_tensor1` and `input_tensor2` accepted as aliases of
    `real_images` and `generated_images`.

    Returns:
      The distance, a scalar tensor.

    Example:
      >>> kid = kernel_classifier_distance(real_images, generated_images,
      ...                                  embedding_model, num_batches=10)
    """
    return kernel_classifier_distance_and_std(
        real_images, generated_images, classifier_fn, num_batches, max_block_size, dtype
    )[0]
