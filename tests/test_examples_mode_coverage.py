"""Tests of `examples/mode_coverage.py`: its metrics on synthetic samples, and a short run.

The metric tests need no training and would catch a wrong distance rule, mode
assignment or threshold; the smoke test trains one configuration for a few
steps through `GANModel.fit` and `main` (a few seconds on a CPU).
"""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "mode_coverage.py"


@pytest.fixture(scope="module")
def mode_coverage():
    spec = importlib.util.spec_from_file_location("mode_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ring_centers_lie_on_the_circle(mode_coverage):
    centers = mode_coverage.ring_centers()
    assert centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0)
    np.testing.assert_allclose(centers[0], [2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-12)
    # Evenly spaced: neighbours 2 * r * sin(pi / 8) apart.
    gaps = np.linalg.norm(centers - np.roll(centers, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 4.0 * np.sin(np.pi / 8))


def test_samples_at_all_centers_cover_every_mode(mode_coverage):
    samples = np.repeat(mode_coverage.ring_centers(), 25, axis=0)  # 25 per mode.
    m = mode_coverage.mode_metrics(samples, std=0.05, min_count=20)
    assert m.modes_covered == 8
    assert m.high_quality_fraction == 1.0
    assert m.counts == [25] * 8


def test_samples_at_one_center_cover_one_mode(mode_coverage):
    samples = np.tile(mode_coverage.ring_centers()[3], (200, 1))
    m = mode_coverage.mode_metrics(samples, std=0.05)
    assert m.modes_covered == 1
    assert m.high_quality_fraction == 1.0
    assert m.counts == [0, 0, 0, 200, 0, 0, 0, 0]


def test_high_quality_is_within_num_std_of_the_nearest_center(mode_coverage):
    center = mode_coverage.ring_centers()[0]
    std = 0.05
    inside = center + np.array([[2.9 * std, 0.0]] * 30)    # 2.9 std away: high quality.
    outside = center + np.array([[0.0, 3.1 * std]] * 10)   # 3.1 std away: not.
    far = np.zeros((10, 2))                                # The ring's centre: 2 away.
    m = mode_coverage.mode_metrics(np.concatenate([inside, outside, far]), std=std)
    assert m.high_quality_fraction == pytest.approx(30 / 50)
    assert m.counts[0] == 30 and sum(m.counts) == 30
    assert m.modes_covered == 1
    # A wider rule admits the 3.1-std points too.
    assert mode_coverage.mode_metrics(
        np.concatenate([inside, outside]), std=std, num_std=4.0).high_quality_fraction == 1.0


def test_a_mode_needs_min_count_high_quality_samples(mode_coverage):
    centers = mode_coverage.ring_centers()
    samples = np.concatenate([np.tile(centers[0], (20, 1)), np.tile(centers[1], (19, 1))])
    assert mode_coverage.mode_metrics(samples, min_count=20).modes_covered == 1
    assert mode_coverage.mode_metrics(samples, min_count=19).modes_covered == 2
    assert mode_coverage.mode_metrics(samples, min_count=1).modes_covered == 2


def test_real_data_scores_perfectly_and_non_finite_samples_do_not_count(mode_coverage):
    real = mode_coverage.sample_ring(2500, std=0.05, seed=0)
    m = mode_coverage.mode_metrics(real, std=0.05)
    assert m.modes_covered == 8
    # Within 3 std in 2-D (a Rayleigh radius): 1 - exp(-4.5) = 0.9889.
    assert m.high_quality_fraction == pytest.approx(1 - np.exp(-4.5), abs=0.01)
    with_nan = np.concatenate([real[:100], np.full((100, 2), np.nan)])
    assert mode_coverage.mode_metrics(with_nan, std=0.05).high_quality_fraction <= 0.5


def test_real_dataset_is_the_ring_and_deterministic(mode_coverage):
    take = lambda seed: np.concatenate(
        [np.asarray(b) for b in mode_coverage.real_dataset(512, 0.05, seed).take(2)])
    first, again, other = take(0), take(0), take(1)
    assert first.shape == (1024, 2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    m = mode_coverage.mode_metrics(first, std=0.05)
    assert m.modes_covered == 8 and m.high_quality_fraction > 0.97
    assert min(m.counts) > 80  # Modes chosen uniformly: ~128 each.


def test_short_run_trains_and_writes_the_results(mode_coverage, tmp_path, capsys):
    results = mode_coverage.main([
        "--output_dir", str(tmp_path), "--configs", "modified", "--seeds", "0",
        "--steps", "25", "--steps_per_execution", "10", "--batch_size", "64",
        "--eval_samples", "500"])
    assert "modified" in capsys.readouterr().out
    (result,) = results
    # Exactly --steps train steps, although 10 does not divide 25.
    assert (result.generator_updates, result.discriminator_updates) == (25, 25)
    assert result.samples.shape == (500, 2) and np.all(np.isfinite(result.samples))
    assert 0 <= result.metrics.modes_covered <= 8
    assert 0.0 <= result.metrics.high_quality_fraction <= 1.0
    assert all(np.isfinite(v) for v in result.final_logs.values()), result.final_logs
    assert result.final_logs["discriminator_loss"] > 0
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["config"], r["seed"], r["steps"]) for r in rows] == [("modified", "0", "25")]
    assert int(rows[0]["modes_covered"]) == result.metrics.modes_covered
    assert (tmp_path / "results.md").read_text().count("\n") == 3
    assert (tmp_path / "samples.png").stat().st_size > 0
