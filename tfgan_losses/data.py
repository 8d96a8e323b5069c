"""MNIST input pipeline for GAN training, built on TensorFlow Datasets (TFDS).

`load_mnist` returns batches of images scaled to [-1, 1] (the range of the
generators' tanh output), optionally with labels for conditional GANs.

Offline use: pass `mnist_dir`, a directory holding the four original MNIST
files (`MNIST_FILES`), or set the environment variable `TFGAN_MNIST_DIR`.
TFDS then builds the dataset from those files instead of downloading them.
The files are checked (presence, gzip header, size, sha256) before TFDS is
called, because TFDS retries the network for minutes when a file is missing.
"""

import functools
import hashlib
import numbers
import os
from pathlib import Path

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import flags

MNIST_DIR_ENV_VAR = "TFGAN_MNIST_DIR"
NUM_CLASSES = 10

# The files TFDS's `mnist` builder downloads: name -> (size in bytes, sha256).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train-labels-idx1-ubyte.gz": (
        28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "t10k-images-idx3-ubyte.gz": (
        1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        4542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}

_GZIP_MAGIC = b"\x1f\x8b"
_HOW_TO_POINT_AT_FILES = (
    "pass the folder holding the four MNIST files with --mnist_dir "
    "(or the mnist_dir argument), or set the environment variable "
    f"{MNIST_DIR_ENV_VAR}"
)


def resolve_mnist_dir(mnist_dir=None):
    """Returns the directory of the MNIST files to build from, if any.

    Precedence: the explicit `mnist_dir` argument, then the environment
    variable `TFGAN_MNIST_DIR`, then None (TFDS downloads the files). An empty
    argument or variable counts as unset.

    Args:
      mnist_dir: A path (str or `os.PathLike`) or None.

    Returns:
      A `pathlib.Path` with `~` expanded, or None.
    """
    if mnist_dir is None or mnist_dir == "":
        mnist_dir = os.environ.get(MNIST_DIR_ENV_VAR) or None
    return None if mnist_dir is None else Path(mnist_dir).expanduser()


@functools.lru_cache(maxsize=None)
def _sha256(path, size, mtime_ns):
    """Hashes a file; `size` and `mtime_ns` key the cache to its version."""
    del size, mtime_ns  # Only part of the cache key.
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_mnist_dir(mnist_dir):
    """Checks that `mnist_dir` holds the four intact original MNIST files.

    Each file's sha256 is computed once per process (keyed on its path, size
    and modification time).

    Args:
      mnist_dir: A path (str or `os.PathLike`) to the directory.

    Raises:
      FileNotFoundError: If the directory or any of the files is missing.
      ValueError: If a file is not gzip data, or its size or sha256 differs
        from the published MNIST file.
    """
    mnist_dir = Path(mnist_dir).expanduser()
    if not mnist_dir.is_dir():
        raise FileNotFoundError(
            f"MNIST directory {str(mnist_dir)!r} does not exist or is not a "
            f"directory; {_HOW_TO_POINT_AT_FILES}."
        )
    missing = [name for name in MNIST_FILES if not (mnist_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"MNIST file(s) {', '.join(missing)} not found in directory "
            f"{str(mnist_dir)!r}; {_HOW_TO_POINT_AT_FILES}."
        )
    for name, (expected_size, expected_sha256) in MNIST_FILES.items():
        path = mnist_dir / name
        with open(path, "rb") as stream:
            if stream.read(len(_GZIP_MAGIC)) != _GZIP_MAGIC:
                raise ValueError(
                    f"MNIST file {str(path)!r} is not a valid gzip file: it is corrupt, or "
                    f"was decompressed (TFDS needs the original .gz files)."
                )
        stat = path.stat()
        if stat.st_size != expected_size:
            raise ValueError(
                f"MNIST file {str(path)!r} has {stat.st_size} bytes, expected "
                f"{expected_size}: it is truncated or not the original file."
            )
        sha256 = _sha256(str(path.absolute()), stat.st_size, stat.st_mtime_ns)
        if sha256 != expected_sha256:
            raise ValueError(
                f"MNIST file {str(path)!r} has sha256 {sha256}, expected "
                f"{expected_sha256}: it is corrupt or not the original file."
            )


def validate_mnist_dir_flag(mnist_dir):
    """An absl validator for a `--mnist_dir` flag: `check_mnist_dir` at flag parsing.

    The folder the flag names, else `$TFGAN_MNIST_DIR`, must hold the four
    intact MNIST files, so a bad folder stops a script before any work;
    neither set passes (TFDS downloads).

    Example:

      flags.register_validator("mnist_dir", data.validate_mnist_dir_flag)
    """
    mnist_dir = resolve_mnist_dir(mnist_dir)
    if mnist_dir is not None:
        try:
            check_mnist_dir(mnist_dir)
        except (FileNotFoundError, ValueError) as error:
            raise flags.ValidationError(str(error)) from error
    return True


def load_mnist(
    split="train",
    batch_size=32,
    *,
    shuffle=True,
    shuffle_buffer=10000,
    seed=None,
    with_labels=False,
    one_hot=True,
    repeat=False,
    drop_remainder=True,
    mnist_dir=None,
    data_dir=None,
):
    """Loads MNIST as batches of images in [-1, 1], optionally with labels.

    The first call for a given `data_dir` prepares the dataset there (about
    10 s on 2 CPU cores); later calls read the prepared records.

    Args:
      split: A TFDS split: "train" (60000 images), "test" (10000), or a slice
        such as "train[:10%]".
      batch_size: Positive int, images per batch.
      shuffle: Whether to shuffle the examples (reshuffled every epoch).
      shuffle_buffer: Positive int, size of the shuffle buffer.
      seed: Optional int seed of the shuffle, for reproducible order.
      with_labels: If True, yield `(images, labels)` pairs, for conditional
        GANs; if False, yield images only.
      one_hot: With `with_labels`, whether labels are one-hot float32 of shape
        [batch_size, NUM_CLASSES] (True) or int64 class ids of shape
        [batch_size] (False).
      repeat: If True, repeat the data forever.
      drop_remainder: If True, drop the last batch when it is smaller than
        `batch_size`, so every batch has a static batch dimension.
      mnist_dir: Optional directory holding the four original MNIST files
        (`MNIST_FILES`) to build from instead of downloading them; defaults
        to the environment variable `TFGAN_MNIST_DIR` (see
        `resolve_mnist_dir`). Checked with `check_mnist_dir` first.
      data_dir: Optional directory where TFDS stores the prepared dataset;
        None uses TFDS's default (`~/tensorflow_datasets` or `TFDS_DATA_DIR`).

    Returns:
      A prefetched `tf.data.Dataset` of float32 images of shape
      [batch_size, 28, 28, 1] with values in [-1, 1] (`pixel / 127.5 - 1`),
      or of `(images, labels)` pairs if `with_labels`.

    Raises:
      ValueError: If `batch_size` or `shuffle_buffer` is not a positive int,
        or a file in `mnist_dir` is corrupt.
      FileNotFoundError: If `mnist_dir` lacks one of the MNIST files.

    Example:

      images = next(iter(load_mnist("train", batch_size=64)))  # [64, 28, 28, 1]
    """
    for argument, value in (("batch_size", batch_size), ("shuffle_buffer", shuffle_buffer)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{argument} must be a positive int, got {value!r}.")

    mnist_dir = resolve_mnist_dir(mnist_dir)
    download_and_prepare_kwargs = None
    if mnist_dir is not None:
        check_mnist_dir(mnist_dir)
        download_config = tfds.download.DownloadConfig(manual_dir=str(mnist_dir))
        download_and_prepare_kwargs = {"download_config": download_config}

    dataset = tfds.load(
        "mnist",
        split=split,
        data_dir=None if data_dir is None else str(data_dir),
        as_supervised=True,
        download_and_prepare_kwargs=download_and_prepare_kwargs,
        # TFDS caches small datasets in memory, and warns when training stops
        # before the first pass over the cache is complete; decoding MNIST's
        # 28x28 images as they are read costs little beside a train step.
        read_config=tfds.ReadConfig(try_autocache=False),
    )
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def to_model_inputs(images, labels):
        images = tf.cast(images, tf.float32) / 127.5 - 1.0
        if not with_labels:
            return images
        if one_hot:
            labels = tf.one_hot(labels, NUM_CLASSES, dtype=tf.float32)
        return images, labels

    dataset = dataset.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
