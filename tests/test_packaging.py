"""What `pip install .` puts into site-packages: the library alone, its assets included."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    """The file names in the wheel that `pip install .` would install."""
    wheel_dir = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(wheel_dir), str(REPO_ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheel_dir.glob("tfgan_losses-*.whl")
    return zipfile.ZipFile(wheel).namelist()


def test_the_wheel_holds_only_the_tfgan_losses_package(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"tfgan_losses"}
    assert "tfgan_losses/features/spectral_normalization.py" in wheel_names
    assert "tfgan_losses/eval/assets/mnist_classifier.keras" in wheel_names


def test_a_non_editable_install_does_not_make_models_importable(tmp_path):
    """The examples' `models/` stays in the repository: installing the project must not
    shadow the `models` module of the projects that install it."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--quiet", "--target", str(target), str(REPO_ROOT)],
                   check=True, capture_output=True, timeout=300)
    assert sorted(path.name for path in target.iterdir()
                  if not path.name.endswith(".dist-info")) == ["tfgan_losses"]
    probe = ("import importlib.util, sys; sys.path.insert(0, sys.argv[1]); "
             "print(importlib.util.find_spec('tfgan_losses').origin); "
             "spec = importlib.util.find_spec('models'); "
             "print(spec.origin if spec else None)")
    result = subprocess.run([sys.executable, "-I", "-c", probe, str(target)], cwd=tmp_path,
                            capture_output=True, text=True, check=True, timeout=60)
    library_origin, models_origin = result.stdout.split()
    assert library_origin.startswith(str(target))
    assert models_origin == "None" or not models_origin.startswith(str(target))
