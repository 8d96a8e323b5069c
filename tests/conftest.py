"""Shared pytest fixtures: the offline MNIST files and a prepared TFDS copy.

The four original MNIST files live in `shared/data/mnist`, beside the
repository root (`<root>/../shared/data/mnist`). Tests that need them skip,
with a reason, when that folder is absent.
"""

from pathlib import Path

import pytest

MNIST_FILES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """Path of the folder holding the four original MNIST `.gz` files.

    Pass it as `mnist_dir=` to `tfgan_losses.data.load_mnist` (or as
    `--mnist_dir` to a script). Skips the test when the folder is absent.
    """
    if not MNIST_FILES_DIR.is_dir():
        pytest.skip(f"offline MNIST files not found at {MNIST_FILES_DIR}")
    return MNIST_FILES_DIR


@pytest.fixture(scope="session")
def mnist_data_dir(mnist_dir, tmp_path_factory):
    """A TFDS `data_dir` in which MNIST is prepared, built once per session.

    Building takes about 10 s on 2 CPU cores; afterwards
    `load_mnist(..., mnist_dir=mnist_dir, data_dir=mnist_data_dir)` only reads
    the prepared records, and never touches `~/tensorflow_datasets` or the
    network.
    """
    from tfgan_losses import data  # Deferred: TensorFlow is slow to import.

    data_dir = tmp_path_factory.mktemp("tfds")
    data.load_mnist("test", batch_size=1, shuffle=False, mnist_dir=mnist_dir, data_dir=data_dir)
    return data_dir
