"""Tiling a batch of images into one image, for visual inspection."""

import math

import numpy as np
import tensorflow as tf

from tfgan_losses.eval import _validation


def image_grid(input_tensor, grid_shape, image_shape=(32, 32), num_channels=3):
    """Arranges a batch of images into a single grid image, row by row.

    Image i lands in grid row i // grid_width and column i % grid_width, so
    pixel (y, x) of image i ends up at
    (row * image_height + y, column * image_width + x).

    Args:
      input_tensor: Array-like batch of grid_height * grid_width images, either
        [batch, image_height, image_width, num_channels] or flattened
        [batch, image_height * image_width * num_channels].
      grid_shape: Pair of positive ints (grid_height, grid_width).
      image_shape: Pair of ints (image_height, image_width).
      num_channels: Int, the number of channels of an image.

    Returns:
      A tensor [1, grid_height * image_height, grid_width * image_width,
      num_channels] with the dtype of `input_tensor`.

    Raises:
      ValueError: If the batch size is not grid_height * grid_width, or
        `input_tensor` has neither of the two accepted shapes.

    Example:
      >>> grid = image_grid(generated_images[:16], grid_shape=(4, 4),
      ...                   image_shape=(28, 28), num_channels=1)
    """
    images = tf.convert_to_tensor(input_tensor)
    grid_height, grid_width = grid_shape
    image_height, image_width = image_shape
    if images.shape.rank not in (2, 4):
        raise ValueError(
            "`input_tensor` must be rank 4 [batch, height, width, channels] or "
            f"rank 2 [batch, height * width * channels], got shape "
            f"{images.shape}."
        )
    if images.shape[0] != grid_height * grid_width:
        raise ValueError(
            f"`grid_shape` {tuple(grid_shape)} needs {grid_height * grid_width} "
            f"images, but `input_tensor` has {images.shape[0]}."
        )
    expected = (
        [image_height * image_width * num_channels]
        if images.shape.rank == 2
        else [image_height, image_width, num_channels]
    )
    if images.shape[1:] != expected:
        raise ValueError(
            f"`input_tensor` images of shape {images.shape[1:]} do not match "
            f"`image_shape` {tuple(image_shape)} and `num_channels` "
            f"{num_channels} (expected {expected})."
        )

    grid = tf.reshape(images, [grid_height, grid_width, image_height, image_width, num_channels])
    grid = tf.transpose(grid, [0, 2, 1, 3, 4])
    return tf.reshape(grid, [1, grid_height * image_height, grid_width * image_width, num_channels])


def image_reshaper(images, num_cols=None):
    """Tiles images into a nearly square grid image, padding with black tiles.

    Without `num_cols` the grid has ceil(sqrt(n)) columns (e.g. 11 images give
    3 rows of 4), and ceil(n / num_cols) rows; empty cells of the last row are
    zeros.

    Args:
      images: A tensor [n, height, width, channels] or a list of n tensors
        [height, width, channels], with 1 (grayscale) or 3 (RGB) channels.
      num_cols: Optional positive int, the number of grid columns.

    Returns:
      A tensor [1, rows * height, num_cols * width, channels].

    Raises:
      ValueError: If an image is not rank 3 with 1 or 3 channels, or
        `num_cols` is not a positive int.

    Example:
      >>> summary = image_reshaper(generated_images[:10])  # 3 x 4 grid
    """
    images = images if isinstance(images, tf.Tensor) else tf.stack(images)
    if images.shape.rank != 4:
        raise ValueError(
            "`images` must be [n, height, width, channels] or a list of "
            f"[height, width, channels] images, got shape {images.shape}."
        )
    num_images, height, width, channels = images.shape
    if channels not in (1, 3):
        raise ValueError(f"`images` must have 1 or 3 channels, got {channels}.")
    if num_cols is None:
        num_cols = math.ceil(math.sqrt(num_images))
    _validation.check_positive_int(num_cols, "num_cols")
    num_rows = math.ceil(num_images / num_cols)

    padding = num_rows * num_cols - num_images
    images = tf.pad(images, [[0, padding], [0, 0], [0, 0], [0, 0]])
    return image_grid(images, (num_rows, num_cols), (height, width), channels)


def to_uint8(images):
    """Maps images in [-1, 1] (a tanh generator's range) to uint8 [0, 255], clipping."""
    return np.round((np.clip(np.asarray(images, np.float32), -1.0, 1.0) + 1.0) * 127.5
                    ).astype(np.uint8)


def image_grid_uint8(images, grid_size):
    """Tiles the first `grid_size**2` images in [-1, 1] into one uint8 image.

    Args:
      images: Array-like [n, height, width, channels] with n >= grid_size**2.
      grid_size: Images per side of the square grid.

    Returns:
      A uint8 numpy array [grid_size * height, grid_size * width, channels].

    Raises:
      ValueError: If there are fewer than `grid_size**2` images.
    """
    images = np.asarray(images)
    count = grid_size * grid_size
    if len(images) < count:
        raise ValueError(f"`images` has {len(images)} images; a {grid_size}x{grid_size} grid "
                         f"needs {count}.")
    _, height, width, channels = images.shape
    grid = image_grid(to_uint8(images[:count]), (grid_size, grid_size), (height, width), channels)
    return grid[0].numpy()


def write_image_grid_png(images, grid_size, path):
    """Writes `image_grid_uint8(images, grid_size)` as a PNG file at `path`."""
    tf.io.write_file(path, tf.io.encode_png(image_grid_uint8(images, grid_size)))
