"""Sliced Wasserstein distance (SWD) between image sets, per pyramid level.

Karras et al., "Progressive Growing of GANs for Improved Quality, Stability,
and Variation", https://arxiv.org/abs/1710.10196 (reference implementation:
https://github.com/tkarras/progressive_growing_of_gans).

Each image set is decomposed into a Laplacian pyramid; at every level random
patches are cut out, normalised, and the two patch distributions are compared
with the sliced Wasserstein distance: both are projected on random unit
directions, each 1-D projection is sorted, and the mean absolute difference of
the sorted projections is taken. This is an approximation through random
projections, not an exact distance; its value depends on the number of
images (the paper uses 8192 images).
"""

import numpy as np
import tensorflow as tf

from tfgan_losses.eval import _validation

# 5x5 binomial filter of cv2.pyrDown / cv2.pyrUp: outer([1, 4, 6, 4, 1]) / 256.
_BINOMIAL_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32)
_GAUSSIAN_FILTER = np.outer(_BINOMIAL_1D, _BINOMIAL_1D) / 256.0


def _blur(images, gain):
    """Per-channel 5x5 Gaussian filter with reflect padding, times `gain`."""
    channels = images.shape[-1]
    kernel = np.tile((_GAUSSIAN_FILTER * gain)[:, :, None, None], [1, 1, channels, 1])
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")


def _pyr_down(images):
    """Blurs then keeps every second row and column (as cv2.pyrDown)."""
    return _blur(images, 1.0)[:, ::2, ::2, :]


def _pyr_up(images):
    """Doubles the size by zero insertion, then blurs with gain 4 (cv2.pyrUp)."""
    batch, height, width, channels = images.shape
    grid = tf.reshape(images, [batch, height, 1, width, 1, channels])
    grid = tf.pad(grid, [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
    upsampled = tf.reshape(grid, [batch, 2 * height, 2 * width, channels])
    return _blur(upsampled, 4.0)


def laplacian_pyramid(images, num_levels):
    """Laplacian pyramid of a batch of images, finest level first.

    Level i < num_levels - 1 is G_i - pyr_up(G_{i+1}), where G_0 = images and
    G_{i+1} = pyr_down(G_i); the last level is the coarsest Gaussian level.

    Args:
      images: Float tensor [batch, height, width, channels]; height and width
        must be divisible by 2**(num_levels - 1) and every level but the last
        at least 3 pixels wide (for the reflect padding).
      num_levels: Positive int, the number of levels.

    Returns:
      A list of `num_levels` float32 tensors, the i-th of spatial size
      (height / 2**i, width / 2**i).
    """
    gaussian = [tf.cast(images, tf.float32)]
    for _ in range(1, num_levels):
        gaussian.append(_pyr_down(gaussian[-1]))
    details = [
        fine - _pyr_up(coarse) for fine, coarse in zip(gaussian[:-1], gaussian[1:], strict=True)
    ]
    return details + [gaussian[-1]]


def _random_patches(images, patches_per_image, patch_size, rng):
    """Cuts `patches_per_image` random square patches out of every image.

    Returns:
      Tensor [batch * patches_per_image, patch_size, patch_size, channels];
      patches fit inside the image and come from each image in turn.
    """
    batch, height, width, _ = images.shape
    count = batch * patches_per_image
    half = patch_size // 2
    offsets = np.arange(-half, half + 1)
    image_ids = np.repeat(np.arange(batch), patches_per_image)
    rows = rng.integers(half, height - half, size=count)[:, None] + offsets
    cols = rng.integers(half, width - half, size=count)[:, None] + offsets
    indices = np.stack(
        np.broadcast_arrays(image_ids[:, None, None], rows[:, :, None], cols[:, None, :]), axis=-1
    )
    return tf.gather_nd(images, indices)


def _normalized_descriptors(patches):
    """Flattens patches after normalising each to zero mean and unit variance.

    A constant patch (zero variance) becomes all zeros, where TF-GAN would
    divide 0 by 0.
    """
    mean, variance = tf.nn.moments(patches, axes=[1, 2, 3], keepdims=True)
    normalized = tf.math.divide_no_nan(patches - mean, tf.sqrt(variance))
    return tf.reshape(normalized, [patches.shape[0], -1])


def _sorted_distance(proj_a, proj_b):
    """Mean |difference| of the column-wise sorted projections."""
    return tf.reduce_mean(tf.abs(tf.sort(proj_a, axis=0) - tf.sort(proj_b, axis=0)))


def _sliced_wasserstein(a, b, random_sampling_count, random_projection_dim, rng):
    """Sliced Wasserstein distance of two equal-size sets of row vectors.

    Averages, over `random_sampling_count` draws, the distance along
    `random_projection_dim` random unit directions.
    """
    distances = []
    for _ in range(random_sampling_count):
        proj = rng.standard_normal((a.shape[1], random_projection_dim))
        proj = (proj / np.linalg.norm(proj, axis=0, keepdims=True)).astype(np.float32)
        distances.append(_sorted_distance(tf.matmul(a, proj), tf.matmul(b, proj)))
    return tf.reduce_mean(distances)


def _sliced_wasserstein_svd(a, b):
    """Sliced Wasserstein distance along the principal axes of both sets.

    TF-GAN's experimental variant: the directions are the right singular
    vectors of the stacked sets instead of random ones.
    """
    singular_values, u, _ = tf.linalg.svd(tf.concat([a, b], axis=0))
    proj_a, proj_b = tf.split(u * singular_values, 2, axis=0)
    return _sorted_distance(proj_a, proj_b)


def _check_images(real_images, fake_images):
    """Validates the image pair; returns it as float32 tensors."""
    real = tf.convert_to_tensor(real_images)
    fake = tf.convert_to_tensor(fake_images)
    if real.shape.rank != 4 or not real.shape.is_fully_defined():
        raise ValueError(
            "`real_images` must be a rank-4 tensor [batch, height, width, "
            f"channels] with a known shape, got shape {real.shape}."
        )
    if real.shape[1] != real.shape[2]:
        raise ValueError(
            f"`real_images` must be square, got height {real.shape[1]} and width {real.shape[2]}."
        )
    if fake.shape != real.shape:
        raise ValueError(
            "`fake_images` must have the shape of `real_images`, got "
            f"{fake.shape} and {real.shape}."
        )
    return tf.cast(real, tf.float32), tf.cast(fake, tf.float32)


def sliced_wasserstein_distance(
    real_images,
    fake_images,
    resolution_min=16,
    patches_per_image=64,
    patch_size=7,
    random_sampling_count=1,
    random_projection_dim=7 * 7 * 3,
    use_svd=False,
    seed=None,
):
    """Sliced Wasserstein distance between two image sets, per pyramid level.

    Follows TF-GAN (https://arxiv.org/abs/1710.10196). With H the image size,
    the Laplacian pyramid has floor(log2(H)) - floor(log2(min(resolution_min,
    H))) + 1 levels. At each level `patches_per_image` random patches of
    `patch_size` x `patch_size` pixels are cut out of every image, each patch is
    normalised to zero mean and unit variance and flattened to a descriptor
    d; for one random direction w (unit norm) the 1-D distance is

        mean_i | sort(d_real . w)_i - sort(d_fake . w)_i |,

    averaged over `random_projection_dim` directions and `random_sampling_count`
    draws. `distance_real` compares the real patches with a second, independent
    draw of real patches: it is the noise floor of the estimate, against which
    `distance_fake` is read.

    Unlike TF-GAN, images may have any number of channels (e.g. grayscale
    MNIST), a constant patch is normalised to zeros instead of NaN, and `seed`
    makes the patch and direction draws reproducible.

    Args:
      real_images: Array-like [batch, H, H, channels] of real images, any value
        range (the metric is invariant to an affine rescaling of the pixels).
      fake_images: Array-like of the same shape with generated images.
      resolution_min: Positive int, the smallest pyramid resolution (clipped to
        H). H must be divisible by 2**(num_levels - 1) and the coarsest level
        at least `patch_size` pixels wide.
      patches_per_image: Positive int, patches cut per image and level.
      patch_size: Odd int >= 3, the side of a square patch.
      random_sampling_count: Positive int, the number of random projection
        matrices to average.
      random_projection_dim: Positive int, the number of random directions per
        projection matrix.
      use_svd: If True, project on the principal axes of the two patch sets
        instead of random directions (TF-GAN's experimental variant).
      seed: Optional int seeding the random patches and directions.

    Returns:
      A list, from the finest level to the coarsest, of pairs
      (distance_real, distance_fake) of float32 scalar tensors.

    Raises:
      ValueError: If the images are not rank 4, square, of equal shapes, or too
        small for the pyramid and patches, or an int argument is out of range.

    Example:
      >>> for real_d, fake_d in sliced_wasserstein_distance(
      ...     real_images, fake_images, resolution_min=8, seed=0):
      ...   print(float(real_d), float(fake_d))
    """
    real, fake = _check_images(real_images, fake_images)
    for value, name in (
        (resolution_min, "resolution_min"),
        (patches_per_image, "patches_per_image"),
        (random_sampling_count, "random_sampling_count"),
        (random_projection_dim, "random_projection_dim"),
    ):
        _validation.check_positive_int(value, name)
    _validation.check_positive_int(patch_size, "patch_size")
    if patch_size < 3 or patch_size % 2 == 0:
        raise ValueError(f"`patch_size` must be odd and >= 3, got {patch_size}.")

    resolution = real.shape[1]
    num_levels = resolution.bit_length() - min(resolution_min, resolution).bit_length() + 1
    coarsest, remainder = divmod(resolution, 2 ** (num_levels - 1))
    if remainder or coarsest < patch_size:
        raise ValueError(
            f"Images of size {resolution} cannot form a {num_levels}-level "
            f"pyramid for `resolution_min`={resolution_min} with "
            f"`patch_size`={patch_size}: the size must be divisible by "
            f"{2 ** (num_levels - 1)} and the coarsest level must be at least "
            "`patch_size` pixels wide."
        )

    rng = np.random.default_rng(seed)

    def descriptors(level):
        return _normalized_descriptors(_random_patches(level, patches_per_image, patch_size, rng))

    scores = []
    for real_level, fake_level in zip(
        laplacian_pyramid(real, num_levels), laplacian_pyramid(fake, num_levels), strict=True
    ):
        real_patches = descriptors(real_level)
        test_patches = descriptors(real_level)
        fake_patches = descriptors(fake_level)
        if use_svd:
            scores.append(
                (
                    _sliced_wasserstein_svd(real_patches, test_patches),
                    _sliced_wasserstein_svd(real_patches, fake_patches),
                )
            )
        else:
            scores.append(
                (
                    _sliced_wasserstein(
                        real_patches,
                        test_patches,
                        random_sampling_count,
                        random_projection_dim,
                        rng,
                    ),
                    _sliced_wasserstein(
                        real_patches,
                        fake_patches,
                        random_sampling_count,
                        random_projection_dim,
                        rng,
                    ),
                )
            )
    return scores
