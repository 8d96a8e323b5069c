"""Property tests of `tfgan_losses.divergences`: the GAN theory, checked numerically.

Random distributions come from numpy generators with fixed seeds, looped over
(no `hypothesis`, which the test extras do not install). Independent oracles:
`scipy.stats.wasserstein_distance` for 1-D W1, and closed forms (parallel lines,
translations) for W1 on a 2-D grid.
"""

import numpy as np
import pytest
from scipy import spatial, stats

from tfgan_losses.divergences import (
    js_divergence, kl_divergence, minimax_value, optimal_discriminator,
    total_variation_distance, wasserstein_1)

LOG_2 = np.log(2.0)
LOG_4 = np.log(4.0)
SEEDS = range(40)


def random_distribution(rng, size, zero_fraction=0.0):
    """A random distribution of `size` points; about `zero_fraction` of them get no mass."""
    p = rng.dirichlet(np.full(size, 0.5))
    p[rng.random(size) < zero_fraction] = 0.0
    if p.sum() == 0:
        p[rng.integers(size)] = 1.0
    return p / p.sum()


def random_pair(seed, zero_fraction=0.3):
    """Two random distributions on a shared support of random size, with some zeros."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 30))
    return (random_distribution(rng, size, zero_fraction),
            random_distribution(rng, size, zero_fraction), rng)


def parallel_lines(theta, spacing=0.5, num_x=33, num_y=11):
    """WGAN Example 1 on a grid: P_0 = (0, Z) and P_theta = (theta, Z), Z ~ U[0, 1].

    Returns:
      (p0, p_theta, grid): two (num_x, num_y) histograms, uniform on the columns
      x = 0 and x = theta, and the (num_x, num_y, 2) grid of (x, y) points, x
      centred on 0 with the given spacing (theta must be a multiple of it).
    """
    xs = spacing * (np.arange(num_x) - num_x // 2)
    ys = np.linspace(0.0, 1.0, num_y)
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    p0, p_theta = np.zeros((num_x, num_y)), np.zeros((num_x, num_y))
    p0[np.isclose(xs, 0.0)] = 1.0 / num_y
    p_theta[np.isclose(xs, theta)] = 1.0 / num_y
    assert p_theta.sum() == pytest.approx(1.0), "theta must lie on the grid"
    return p0, p_theta, grid


# The minimax game (Goodfellow et al., arXiv 1406.2661, Proposition 1, Theorem 1).


@pytest.mark.parametrize("seed", SEEDS)
def test_value_at_optimal_discriminator_is_minus_log4_plus_twice_jsd(seed):
    p_data, p_g, _ = random_pair(seed)
    value = minimax_value(p_data, p_g, optimal_discriminator(p_data, p_g))
    assert value == pytest.approx(-LOG_4 + 2.0 * js_divergence(p_data, p_g), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_optimal_discriminator_maximises_value(seed):
    p_data, p_g, rng = random_pair(seed)
    d_star = optimal_discriminator(p_data, p_g)
    best = minimax_value(p_data, p_g, d_star)
    for _ in range(20):
        # A convex mixture with a random D stays inside (0, 1) and differs from D*.
        weight = rng.uniform(0.01, 1.0)
        d = (1.0 - weight) * d_star + weight * rng.uniform(0.01, 0.99, size=d_star.shape)
        assert minimax_value(p_data, p_g, d) < best


@pytest.mark.parametrize("seed", SEEDS)
def test_equal_distributions_give_value_minus_log4_and_zero_divergences(seed):
    p, _, _ = random_pair(seed)
    d_star = optimal_discriminator(p, p)
    np.testing.assert_array_equal(d_star, 0.5)
    assert minimax_value(p, p, d_star) == pytest.approx(-LOG_4, abs=1e-12)
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert total_variation_distance(p, p) == 0.0
    assert wasserstein_1(p, p) == 0.0


def test_optimal_discriminator_values_on_and_off_the_supports():
    d_star = optimal_discriminator([0.5, 0.25, 0.25, 0.0], [0.0, 0.25, 0.5, 0.25])
    np.testing.assert_allclose(d_star, [1.0, 0.5, 1.0 / 3.0, 0.0])
    # Undefined where both are 0: set to 0.5, and irrelevant to the value.
    p_data, p_g = [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]
    assert optimal_discriminator(p_data, p_g)[2] == 0.5
    for d_off_support in (0.0, 0.3, 1.0):
        d = [0.5, 0.5, d_off_support]
        assert minimax_value(p_data, p_g, d) == pytest.approx(-LOG_4)


def test_minimax_value_is_minus_inf_when_the_discriminator_is_certain_and_wrong():
    assert minimax_value([1.0, 0.0], [0.0, 1.0], [0.0, 0.0]) == -np.inf
    assert minimax_value([1.0, 0.0], [0.0, 1.0], [1.0, 1.0]) == -np.inf
    # Certain and right: 0 * log 0 = 0 makes the perfect discriminator's value 0.
    assert minimax_value([1.0, 0.0], [0.0, 1.0], [1.0, 0.0]) == 0.0


# Properties of the divergences.


@pytest.mark.parametrize("seed", SEEDS)
def test_divergence_ranges_and_symmetries(seed):
    p, q, _ = random_pair(seed)
    js = js_divergence(p, q)
    assert js == pytest.approx(js_divergence(q, p), abs=1e-14)
    assert -1e-14 <= js <= LOG_2 + 1e-14
    assert kl_divergence(p, q) >= -1e-14  # Gibbs' inequality.
    tv = total_variation_distance(p, q)
    assert tv == total_variation_distance(q, p)
    assert 0.0 <= tv <= 1.0 + 1e-14
    assert wasserstein_1(p, q) == pytest.approx(wasserstein_1(q, p), abs=1e-14)


@pytest.mark.parametrize("seed", SEEDS)
def test_known_inequalities_between_divergences(seed):
    p, q, _ = random_pair(seed, zero_fraction=0.0)
    tv = total_variation_distance(p, q)
    assert tv <= np.sqrt(kl_divergence(p, q) / 2.0) + 1e-12  # Pinsker.
    assert js_divergence(p, q) <= LOG_2 * tv + 1e-12  # JS <= TV log 2 (Lin, 1991).
    # On the integer grid every unit of moved mass travels at least 1.
    assert wasserstein_1(p, q) >= tv - 1e-12


def test_kl_is_infinite_where_q_is_zero_and_p_is_not():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    # The other way round, 0 * log(0 / q) = 0 keeps it finite.
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG_2)


def test_matches_hand_computed_values():
    p, q = [0.1, 0.4, 0.5], [0.8, 0.15, 0.05]
    m = np.add(p, q) / 2
    kl = sum(a * np.log(a / b) for a, b in zip(p, q))
    assert kl_divergence(p, q) == pytest.approx(kl)
    assert js_divergence(p, q) == pytest.approx(
        0.5 * sum(a * np.log(a / b) for a, b in zip(p, m))
        + 0.5 * sum(a * np.log(a / b) for a, b in zip(q, m)))
    assert total_variation_distance(p, q) == pytest.approx(0.7)
    # CDF gaps 0.7, 0.45 times unit gaps.
    assert wasserstein_1(p, q) == pytest.approx(1.15)


# Disjoint supports: the parallel lines (Arjovsky et al., arXiv 1701.07875, Example 1).


@pytest.mark.parametrize("theta", [-2.0, -0.5, 0.5, 1.0, 3.0, 7.5])
def test_parallel_lines_table(theta):
    p0, p_theta, grid = parallel_lines(theta)
    assert total_variation_distance(p0, p_theta) == pytest.approx(1.0)
    assert kl_divergence(p0, p_theta) == np.inf
    assert kl_divergence(p_theta, p0) == np.inf
    assert js_divergence(p0, p_theta) == pytest.approx(LOG_2, abs=1e-14)
    # W1 = |theta| four ways: the Euclidean linear program on the 2-D grid, an
    # explicit Euclidean ground metric, the 1-D CDF formula on the x coordinate
    # of every grid point, and the 1-D CDF formula on the x marginals.
    assert wasserstein_1(p0, p_theta, support=grid) == pytest.approx(abs(theta), abs=1e-9)
    cost = spatial.distance.cdist(grid.reshape(-1, 2), grid.reshape(-1, 2))
    assert wasserstein_1(p0, p_theta, ground_metric=cost) == pytest.approx(abs(theta), abs=1e-9)
    assert wasserstein_1(p0, p_theta, support=grid[..., 0]) == pytest.approx(abs(theta))
    assert wasserstein_1(p0.sum(1), p_theta.sum(1), support=grid[:, 0, 0]) == pytest.approx(
        abs(theta))


def test_parallel_lines_at_theta_zero_are_the_same_distribution():
    p0, p_theta, grid = parallel_lines(0.0)
    assert total_variation_distance(p0, p_theta) == 0.0
    assert kl_divergence(p0, p_theta) == 0.0
    assert js_divergence(p0, p_theta) == 0.0
    assert wasserstein_1(p0, p_theta, support=grid) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_disjoint_random_supports(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(4, 40))
    cut = int(rng.integers(1, size))
    p, q = np.zeros(size), np.zeros(size)
    p[:cut] = rng.dirichlet(np.ones(cut))
    q[cut:] = rng.dirichlet(np.ones(size - cut))
    order = rng.permutation(size)
    p, q = p[order], q[order]
    assert total_variation_distance(p, q) == pytest.approx(1.0)
    assert kl_divergence(p, q) == np.inf
    assert js_divergence(p, q) == pytest.approx(LOG_2, abs=1e-14)
    d_star = optimal_discriminator(p, q)
    np.testing.assert_array_equal(d_star, (p > 0).astype(float))
    # The perfect discriminator's value is 0 = -log 4 + 2 log 2.
    assert minimax_value(p, q, d_star) == pytest.approx(0.0, abs=1e-14)


# Wasserstein-1 against independent oracles.


@pytest.mark.parametrize("seed", SEEDS)
def test_1d_wasserstein_matches_scipy(seed):
    p, q, rng = random_pair(seed)
    points = rng.normal(scale=3.0, size=p.size)  # Unsorted, unevenly spaced.
    expected = stats.wasserstein_distance(points, points, p, q)
    assert wasserstein_1(p, q, support=points) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # The linear program on the |x - y| ground metric agrees with the CDF formula.
    cost = np.abs(points[:, None] - points[None, :])
    assert wasserstein_1(p, q, ground_metric=cost) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_2d_wasserstein_of_a_translation_is_its_length(seed):
    rng = np.random.default_rng(seed)
    spacing = rng.uniform(0.1, 2.0)
    block = rng.dirichlet(np.ones(12)).reshape(3, 4)
    shift_x, shift_y = rng.integers(-3, 4, size=2)
    p, q = np.zeros((10, 11)), np.zeros((10, 11))
    p[3:6, 3:7] = block
    q[3 + shift_x:6 + shift_x, 3 + shift_y:7 + shift_y] = block
    grid = spacing * np.stack(np.indices(p.shape, dtype=float), axis=-1)
    # Moving everything by v costs |v|, and no plan costs less than |E_p[x] - E_q[x]| = |v|.
    expected = spacing * np.hypot(shift_x, shift_y)
    assert wasserstein_1(p, q, support=grid) == pytest.approx(expected, abs=1e-9)
    # Without a support, the integer grid.
    assert wasserstein_1(p, q) == pytest.approx(expected / spacing, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_2d_wasserstein_is_a_metric_above_the_mean_gap(seed):
    rng = np.random.default_rng(seed)
    grid = rng.normal(size=(6, 5, 2))
    p, q, r = (random_distribution(rng, 30, 0.3).reshape(6, 5) for _ in range(3))
    w_pq = wasserstein_1(p, q, support=grid)
    assert w_pq == pytest.approx(wasserstein_1(q, p, support=grid), abs=1e-9)
    assert w_pq <= wasserstein_1(p, r, support=grid) + wasserstein_1(r, q, support=grid) + 1e-9
    mean_gap = np.linalg.norm(np.tensordot(p - q, grid, axes=([0, 1], [0, 1])))
    assert w_pq >= mean_gap - 1e-9


# Validation.


@pytest.mark.parametrize("function", [kl_divergence, js_divergence, total_variation_distance,
                                      wasserstein_1, optimal_discriminator])
@pytest.mark.parametrize("bad, message", [
    ([0.5, 0.7, -0.2], "non-negative"),
    ([0.5, 0.4, 0.0], "sum to 1"),
    ([0.5, np.nan, 0.5], "finite"),
    ([0.5, np.inf, 0.5], "finite"),
    ([], "non-empty"),
])
def test_rejects_non_distributions_naming_the_argument(function, bad, message):
    good = [0.2, 0.3, 0.5]
    names = ("p_data", "p_g") if function is optimal_discriminator else ("p", "q")
    with pytest.raises(ValueError, match=f"`{names[0]}`.*{message}"):
        function(bad, good)
    with pytest.raises(ValueError, match=f"`{names[1]}`.*{message}"):
        function(good, bad)


@pytest.mark.parametrize("function", [kl_divergence, js_divergence, total_variation_distance,
                                      wasserstein_1, optimal_discriminator])
def test_rejects_mismatched_shapes(function):
    with pytest.raises(ValueError, match="same shape"):
        function([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        function([[0.5, 0.5]], [0.5, 0.5])


def test_sum_tolerance():
    nearly = [0.5, 0.5 + 1e-7]
    assert total_variation_distance(nearly, [0.5, 0.5]) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="`p` must sum to 1"):
        total_variation_distance([0.5, 0.51], [0.5, 0.5])
    assert total_variation_distance([0.5, 0.51], [0.5, 0.5], atol=0.02) == pytest.approx(
        0.5 * abs(0.51 / 1.01 - 0.5) * 2)


def test_minimax_value_rejects_bad_discriminators():
    p = [0.5, 0.5]
    for bad in ([0.5, 1.5], [-0.1, 0.5], [0.5, np.nan]):
        with pytest.raises(ValueError, match="`discriminator`.*\\[0, 1\\]"):
            minimax_value(p, p, bad)
    with pytest.raises(ValueError, match="`discriminator` must have the shape"):
        minimax_value(p, p, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="`p_g`"):
        minimax_value(p, [0.5, 0.6], [0.5, 0.5])


def test_wasserstein_rejects_bad_supports_and_ground_metrics():
    p, q = [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="either `support` or `ground_metric`"):
        wasserstein_1(p, q, support=[0, 1, 2], ground_metric=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="`support` must have shape"):
        wasserstein_1(p, q, support=[0.0, 1.0])
    with pytest.raises(ValueError, match="`support` must contain only finite"):
        wasserstein_1(p, q, support=[0.0, np.inf, 2.0])
    with pytest.raises(ValueError, match="`ground_metric` must have shape"):
        wasserstein_1(p, q, ground_metric=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`ground_metric` must be non-negative"):
        wasserstein_1(p, q, ground_metric=-np.ones((3, 3)))
    with pytest.raises(ValueError, match="`ground_metric` must contain only finite"):
        wasserstein_1(p, q, ground_metric=np.full((3, 3), np.nan))
