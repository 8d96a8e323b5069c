"""Tests for tfgan_losses.data: the MNIST pipeline and the offline file checks."""

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tfgan_losses import data


def _fill_dir(target, source, names):
    for name in names:
        os.symlink(source / name, target / name)


def test_images_are_float32_batches_in_minus_one_one(mnist_dir, mnist_data_dir):
    dataset = data.load_mnist("train", batch_size=64, seed=0, mnist_dir=mnist_dir,
                              data_dir=mnist_data_dir)
    images = next(iter(dataset)).numpy()
    assert images.shape == (64, 28, 28, 1)
    assert images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0  # MNIST has 0 and 255 pixels.
    # x / 127.5 - 1 maps the 256 pixel values onto a grid of step 1 / 127.5.
    np.testing.assert_allclose((images + 1.0) * 127.5, np.round((images + 1.0) * 127.5), atol=1e-4)


def test_labels_are_one_hot(mnist_dir, mnist_data_dir):
    dataset = data.load_mnist(
        "test", batch_size=100, with_labels=True, mnist_dir=mnist_dir, data_dir=mnist_data_dir
    )
    images, labels = next(iter(dataset))
    assert images.shape == (100, 28, 28, 1)
    assert labels.shape == (100, data.NUM_CLASSES) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.numpy().sum(axis=1), np.ones(100))
    assert set(np.unique(labels.numpy())) == {0.0, 1.0}
    assert len(set(labels.numpy().argmax(axis=1))) > 5  # Several digits, not one class.


def test_integer_labels_match_one_hot_labels(mnist_dir, mnist_data_dir):
    kwargs = dict(split="test[:50]", batch_size=50, shuffle=False, with_labels=True,
                  mnist_dir=mnist_dir, data_dir=mnist_data_dir)
    _, one_hot = next(iter(data.load_mnist(one_hot=True, **kwargs)))
    _, ids = next(iter(data.load_mnist(one_hot=False, **kwargs)))
    assert ids.shape == (50,) and ids.dtype.is_integer
    np.testing.assert_array_equal(ids.numpy(), one_hot.numpy().argmax(axis=1))


def test_drop_remainder_keeps_only_full_batches(mnist_dir, mnist_data_dir):
    kwargs = dict(split="test[:100]", batch_size=32, shuffle=False, mnist_dir=mnist_dir,
                  data_dir=mnist_data_dir)
    full_batches = [batch.shape[0] for batch in data.load_mnist(**kwargs)]
    all_batches = [batch.shape[0] for batch in data.load_mnist(drop_remainder=False, **kwargs)]
    assert full_batches == [32, 32, 32]
    assert all_batches == [32, 32, 32, 4]


def test_seed_makes_the_shuffle_reproducible(mnist_dir, mnist_data_dir):
    def first_batch(seed):
        dataset = data.load_mnist("test", batch_size=16, shuffle_buffer=1000, seed=seed,
                                  mnist_dir=mnist_dir, data_dir=mnist_data_dir)
        return next(iter(dataset)).numpy()

    np.testing.assert_array_equal(first_batch(1), first_batch(1))
    assert not np.array_equal(first_batch(1), first_batch(2))


def test_repeat_continues_past_one_epoch(mnist_dir, mnist_data_dir):
    dataset = data.load_mnist("test[:64]", batch_size=32, repeat=True, mnist_dir=mnist_dir,
                              data_dir=mnist_data_dir)
    assert len(list(dataset.take(5))) == 5


def test_numpy_integer_sizes_are_accepted(mnist_dir, mnist_data_dir):
    dataset = data.load_mnist("test[:64]", batch_size=np.int64(32), shuffle_buffer=np.int32(64),
                              mnist_dir=mnist_dir, data_dir=mnist_data_dir)
    assert [batch.shape[0] for batch in dataset] == [32, 32]


@pytest.mark.parametrize("argument", ["batch_size", "shuffle_buffer"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True, np.int64(0)])
def test_rejects_non_positive_sizes(argument, value, tmp_path):
    # An empty mnist_dir: were the sizes not checked first, FileNotFoundError.
    with pytest.raises(ValueError, match=argument):
        data.load_mnist(mnist_dir=tmp_path, **{argument: value})


def test_missing_file_is_named_before_tfds_runs(mnist_dir, tmp_path):
    missing = "train-labels-idx1-ubyte.gz"
    _fill_dir(tmp_path, mnist_dir, [name for name in data.MNIST_FILES if name != missing])
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist(mnist_dir=tmp_path, data_dir=tmp_path / "tfds")
    assert time.monotonic() - start < 5  # TFDS would retry the network for minutes.
    message = str(error.value)
    assert missing in message and str(tmp_path) in message
    assert "--mnist_dir" in message and data.MNIST_DIR_ENV_VAR in message
    assert not (tmp_path / "tfds").exists()


def test_missing_directory_is_named(tmp_path):
    absent = tmp_path / "absent"
    with pytest.raises(FileNotFoundError, match="absent"):
        data.check_mnist_dir(absent)


def test_truncated_file_is_named(mnist_dir, tmp_path):
    corrupt = "t10k-images-idx3-ubyte.gz"
    _fill_dir(tmp_path, mnist_dir, [name for name in data.MNIST_FILES if name != corrupt])
    (tmp_path / corrupt).write_bytes((mnist_dir / corrupt).read_bytes()[:100_000])
    with pytest.raises(ValueError, match=corrupt) as error:
        data.load_mnist(mnist_dir=tmp_path, data_dir=tmp_path / "tfds")
    assert "100000 bytes" in str(error.value)


def test_file_that_is_not_gzip_is_named(mnist_dir, tmp_path):
    corrupt = "t10k-labels-idx1-ubyte.gz"
    _fill_dir(tmp_path, mnist_dir, [name for name in data.MNIST_FILES if name != corrupt])
    (tmp_path / corrupt).write_bytes(gzip.decompress((mnist_dir / corrupt).read_bytes()))
    with pytest.raises(ValueError, match=f"{corrupt}.*not a valid gzip"):
        data.check_mnist_dir(tmp_path)


def test_file_with_right_size_but_wrong_content_is_named(mnist_dir, tmp_path):
    corrupt = "t10k-labels-idx1-ubyte.gz"
    _fill_dir(tmp_path, mnist_dir, [name for name in data.MNIST_FILES if name != corrupt])
    content = bytearray((mnist_dir / corrupt).read_bytes())
    content[-100] ^= 0xFF
    (tmp_path / corrupt).write_bytes(bytes(content))
    with pytest.raises(ValueError, match=f"{corrupt}.*sha256"):
        data.check_mnist_dir(tmp_path)


def test_intact_files_pass_the_check(mnist_dir):
    data.check_mnist_dir(mnist_dir)


def test_mnist_dir_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv(data.MNIST_DIR_ENV_VAR, raising=False)
    assert data.resolve_mnist_dir() is None
    monkeypatch.setenv(data.MNIST_DIR_ENV_VAR, "")
    assert data.resolve_mnist_dir() is None
    monkeypatch.setenv(data.MNIST_DIR_ENV_VAR, str(tmp_path / "from_env"))
    assert data.resolve_mnist_dir() == tmp_path / "from_env"
    assert data.resolve_mnist_dir("") == tmp_path / "from_env"  # Empty counts as unset.
    assert data.resolve_mnist_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data.resolve_mnist_dir("~/mnist") == Path.home() / "mnist"


def test_load_mnist_reads_the_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(data.MNIST_DIR_ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        data.load_mnist(data_dir=tmp_path / "tfds")
