"""Smoke test of `examples/vanishing_gradients.py`: a short run shows the effect.

Two thetas and 500 training steps (a few seconds on a CPU): the saturating
minimax generator gradient collapses against a trained discriminator, while the
gradient through a weight-clipped Wasserstein critic does not.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "vanishing_gradients.py"


@pytest.fixture(scope="module")
def vanishing_gradients():
    spec = importlib.util.spec_from_file_location("vanishing_gradients", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_minimax_gradient_vanishes_and_wasserstein_gradient_does_not(vanishing_gradients):
    results = vanishing_gradients.run_experiment(thetas=(2.0, 8.0), steps=500, log_every=250)
    for r in results:
        assert r.js == pytest.approx(np.log(2.0))
        assert r.w1 == pytest.approx(r.theta)
        assert r.d_real > 0.99 and r.d_gen < 0.01  # A nearly optimal discriminator.
        minimax_start, minimax_end = r.minimax_gradients[0], r.minimax_gradients[-1]
        wasserstein_end = r.wasserstein_gradients[-1]
        assert minimax_end < minimax_start / 100, r
        assert minimax_end < wasserstein_end / 10, r
        assert wasserstein_end > 1e-4, r  # ~K, set by the clipping value 0.01.
        assert r.critic_gap > 0, r


def test_main_writes_the_table_and_the_plot(vanishing_gradients, tmp_path, capsys):
    vanishing_gradients.main(["--output_dir", str(tmp_path), "--thetas", "1", "--steps", "20",
                              "--log_every", "10"])
    assert "minimax grad" in capsys.readouterr().out
    assert (tmp_path / "results.txt").read_text().count("\n") == 4
    assert (tmp_path / "vanishing_gradients.png").stat().st_size > 0
