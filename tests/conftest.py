"""Shared pytest fixtures (the offline MNIST files, a prepared TFDS copy) and the backend split.

The suite runs whole on TensorFlow. With `KERAS_BACKEND=jax` or `torch` it
runs the tests marked `all_backends` (a module opts in with
`pytestmark = pytest.mark.all_backends`) minus those marked `tensorflow_only`.

The four original MNIST files live in `shared/data/mnist`, beside the
repository root (`<root>/../shared/data/mnist`). Tests that need them skip,
with a reason, when that folder is absent.
"""

from pathlib import Path

import keras  # Before TensorFlow: on PyTorch, Keras imports torch._dynamo, which must come first.
import pytest

BACKEND = keras.backend.backend()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "all_backends: runs on every Keras backend (KERAS_BACKEND=tensorflow, jax "
        "or torch); tests without it run on TensorFlow only")
    config.addinivalue_line(
        "markers", "tensorflow_only: TensorFlow-specific within an all_backends module")


def pytest_collection_modifyitems(config, items):
    """On JAX and PyTorch, keeps the tests marked `all_backends` and not `tensorflow_only`."""
    if BACKEND == "tensorflow":
        return
    kept, deselected = [], []
    for item in items:
        runs_here = ("all_backends" in item.keywords
                     and "tensorflow_only" not in item.keywords)
        (kept if runs_here else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept

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
