"""Divergences between discrete distributions, and the GAN minimax game on them.

The theory that explains how GAN losses behave, as plain numpy (float64) functions
on histograms that share one support:

* For a fixed generator the optimal discriminator is
  ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (:func:`optimal_discriminator`), and
  the minimax value at ``D*`` is ``C(G) = -log 4 + 2 * JSD(p_data || p_g)``
  (:func:`minimax_value`, :func:`js_divergence`), minimal exactly when
  ``p_g = p_data``. Goodfellow et al., "Generative Adversarial Networks",
  https://arxiv.org/abs/1406.2661, Proposition 1 and Theorem 1.
* For distributions with disjoint supports, ``TV = 1``, ``KL = inf`` and
  ``JS = log 2`` however far apart they are, while the Wasserstein-1 (earth
  mover's) distance is the distance the mass has to move
  (:func:`wasserstein_1`). Arjovsky et al., "Wasserstein GAN",
  https://arxiv.org/abs/1701.07875, Example 1.

Conventions shared by every function:

* A distribution is an array of any shape whose entries are finite, non-negative
  and sum to 1 within ``atol``; it is renormalised to sum to exactly 1. Both
  arguments must have the same shape (the shared support). Anything else raises
  a ``ValueError`` that names the argument.
* Logarithms are natural, and ``0 * log 0 = 0``: points without mass contribute
  nothing.
* Results are Python floats.
"""

import numpy as np


def _as_distribution(x, name, atol):
    """Returns `x` as a float64 array summing to 1, or raises a ValueError naming it."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"`{name}` must be a non-empty array; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must contain only finite values.")
    if np.any(x < 0):
        raise ValueError(f"`{name}` must be non-negative; its smallest entry is {x.min()}.")
    total = x.sum()
    if abs(total - 1.0) > atol:
        raise ValueError(f"`{name}` must sum to 1 (within atol={atol}); it sums to {total}.")
    return x / total


def _as_distribution_pair(p, q, names, atol):
    """Validates two distributions on the same support."""
    p = _as_distribution(p, names[0], atol)
    q = _as_distribution(q, names[1], atol)
    if p.shape != q.shape:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same shape; "
            f"got {p.shape} and {q.shape}.")
    return p, q


def _relative_entropy_terms(p, q):
    """Sum of p * log(p / q) over the points where p > 0 (assumes q > 0 there)."""
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def kl_divergence(p, q, *, atol=1e-6):
    """Kullback-Leibler divergence KL(p || q) of two discrete distributions.

    ``KL(p || q) = sum_x p(x) * log(p(x) / q(x))``, with ``0 * log(0 / q) = 0``. It
    is ``+inf`` as soon as some point has ``q(x) = 0 < p(x)``, e.g. for disjoint
    supports. Not symmetric.

    Args:
      p: Array of probabilities (any shape): finite, >= 0, summing to 1.
      q: Array of probabilities with the shape of `p`.
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      KL(p || q) in [0, +inf] (Gibbs' inequality), in nats.

    Raises:
      ValueError: If `p` or `q` is not a distribution, or their shapes differ.

    Example:
      >>> kl_divergence([0.5, 0.5], [0.25, 0.75])  # doctest: +ELLIPSIS
      0.1438...
      >>> kl_divergence([0.5, 0.5], [1.0, 0.0])
      inf
    """
    p, q = _as_distribution_pair(p, q, ("p", "q"), atol)
    if np.any((q == 0) & (p > 0)):
        return float("inf")
    return _relative_entropy_terms(p, q)


def js_divergence(p, q, *, atol=1e-6):
    """Jensen-Shannon divergence JSD(p || q) of two discrete distributions.

    ``JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``. It is
    symmetric, always finite, 0 exactly when ``p = q`` and ``log 2`` exactly when
    the supports are disjoint. It is the divergence the minimax GAN minimises:
    ``C(G) = -log 4 + 2 * JSD(p_data || p_g)`` (https://arxiv.org/abs/1406.2661,
    Theorem 1).

    Args:
      p: Array of probabilities (any shape): finite, >= 0, summing to 1.
      q: Array of probabilities with the shape of `p`.
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      JSD(p || q) in [0, log 2] (natural logarithm), up to floating-point rounding.

    Raises:
      ValueError: If `p` or `q` is not a distribution, or their shapes differ.

    Example:
      >>> js_divergence([1.0, 0.0], [0.0, 1.0])  # disjoint supports: log 2
      0.6931471805599453
    """
    p, q = _as_distribution_pair(p, q, ("p", "q"), atol)
    m = 0.5 * (p + q)
    return 0.5 * _relative_entropy_terms(p, m) + 0.5 * _relative_entropy_terms(q, m)


def total_variation_distance(p, q, *, atol=1e-6):
    """Total variation distance of two discrete distributions.

    ``TV(p, q) = sum_x |p(x) - q(x)| / 2 = max_A |p(A) - q(A)|``: 0 exactly when
    ``p = q`` and 1 exactly when the supports are disjoint.

    Args:
      p: Array of probabilities (any shape): finite, >= 0, summing to 1.
      q: Array of probabilities with the shape of `p`.
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      TV(p, q) in [0, 1], up to floating-point rounding.

    Raises:
      ValueError: If `p` or `q` is not a distribution, or their shapes differ.

    Example:
      >>> total_variation_distance([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
      0.5
    """
    p, q = _as_distribution_pair(p, q, ("p", "q"), atol)
    return float(0.5 * np.sum(np.abs(p - q)))


def _default_support(shape):
    """Array indices as coordinates: shape `shape` for 1-D, `shape + (ndim,)` otherwise."""
    if len(shape) == 1:
        return np.arange(shape[0], dtype=np.float64)
    return np.stack(np.indices(shape, dtype=np.float64), axis=-1)


def _as_points(support, shape):
    """Validates `support` and returns it as an (n, d) float64 array of points."""
    support = np.asarray(support, dtype=np.float64)
    if support.shape == shape:
        support = support[..., np.newaxis]
    elif support.shape[:-1] != shape or support.ndim != len(shape) + 1:
        raise ValueError(
            f"`support` must have shape {shape} (one coordinate per point) or "
            f"{shape} + (d,) (d coordinates per point); got {support.shape}.")
    if not np.all(np.isfinite(support)):
        raise ValueError("`support` must contain only finite values.")
    return support.reshape(-1, support.shape[-1])


def _as_cost_matrix(ground_metric, size):
    """Validates `ground_metric` as a finite, non-negative (size, size) array."""
    cost = np.asarray(ground_metric, dtype=np.float64)
    if cost.shape != (size, size):
        raise ValueError(
            f"`ground_metric` must have shape ({size}, {size}) (one row and one column "
            f"per support point, in flattened order); got {cost.shape}.")
    if not np.all(np.isfinite(cost)):
        raise ValueError("`ground_metric` must contain only finite values.")
    if np.any(cost < 0):
        raise ValueError("`ground_metric` must be non-negative.")
    return cost


def _wasserstein_1_on_a_line(p, q, points):
    """Exact W1 in 1-D: sum of |CDF_p - CDF_q| times the gaps of the sorted support."""
    order = np.argsort(points, kind="stable")
    gaps = np.diff(points[order])
    cdf_gap = np.cumsum(p[order] - q[order])[:-1]
    return float(np.sum(np.abs(cdf_gap) * gaps))


def _optimal_transport_cost(source_mass, target_mass, cost):
    """Exact minimal cost of moving `source_mass` onto `target_mass`, by linear programming.

    The transport plan has one variable per (source, target) pair, constrained to
    the two marginals.

    Args:
      source_mass: (n,) positive masses summing to 1.
      target_mass: (m,) positive masses summing to 1.
      cost: (n, m) cost of moving unit mass from each source to each target.
    """
    from scipy import optimize, sparse  # Lazy: only the linear program needs scipy.

    n, m = cost.shape
    row_sums = sparse.kron(sparse.eye(n), np.ones((1, m)), format="csr")
    # The last column constraint follows from the others (both sides sum to 1).
    column_sums = sparse.kron(np.ones((1, n)), sparse.eye(m), format="csr")[:-1]
    result = optimize.linprog(
        cost.ravel(),
        A_eq=sparse.vstack([row_sums, column_sums]).tocsr(),
        b_eq=np.concatenate([source_mass, target_mass[:-1]]),
        bounds=(0, None),
        method="highs-ds",
        # Dual simplex ends on a vertex; tight tolerances make it exact to rounding.
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if result.status != 0:
        raise RuntimeError(f"The optimal transport linear program failed: {result.message}")
    return max(float(result.fun), 0.0)


def wasserstein_1(p, q, support=None, ground_metric=None, *, atol=1e-6):
    """Wasserstein-1 (earth mover's) distance of two discrete distributions.

    ``W1(p, q) = min_{gamma in Pi(p, q)} sum_{x, y} gamma(x, y) * d(x, y)``: the
    least total mass x distance needed to move `p` onto `q`, over the couplings
    ``gamma`` whose marginals are `p` and `q`. Unlike TV, KL and JS it keeps
    measuring how far apart disjoint distributions are: for the "parallel lines"
    ``P_0 = (0, Z)`` and ``P_theta = (theta, Z)``, ``Z ~ U[0, 1]``, it is
    ``|theta|`` (Arjovsky et al., "Wasserstein GAN", https://arxiv.org/abs/1701.07875,
    Example 1).

    The ground distance ``d`` comes from exactly one of:

    * `support` with one coordinate per point (and no `ground_metric`): points on a
      line, ``d(x, y) = |x - y|``, and the closed form
      ``W1 = sum_i |CDF_p(x_i) - CDF_q(x_i)| * (x_{i+1} - x_i)`` over the sorted
      support.
    * `support` with ``d >= 2`` coordinates per point: Euclidean distances, and the
      optimal transport linear program solved exactly.
    * `ground_metric`: an explicit cost matrix, and the same linear program.

    Without either, the support is the array index itself (unit spacing; an n-D
    histogram sits on the integer grid with Euclidean distances). The linear
    program, used for anything but a line, needs scipy (``scipy.optimize.linprog``
    with HiGHS's dual simplex), imported only when it is needed. It has one
    variable per pair of (point where p > 0, point where q > 0): a few hundred
    points with mass on each side take about a second, a thousand tens of seconds.

    Args:
      p: Array of probabilities (any shape): finite, >= 0, summing to 1.
      q: Array of probabilities with the shape of `p`.
      support: Optional coordinates of the support points: an array of shape
        ``p.shape`` (one coordinate each) or ``p.shape + (d,)`` (d coordinates
        each), finite; points may repeat and need not be sorted.
      ground_metric: Optional cost matrix of shape ``(p.size, p.size)``, finite and
        >= 0, rows and columns in the flattened (C) order of `p`; entry ``[i, j]``
        is the cost of moving unit mass from point i to point j. The result is a
        Wasserstein-1 distance when this is a metric (zero diagonal, symmetric,
        triangle inequality); this is not checked.
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      W1(p, q) >= 0, in the units of the support (or of `ground_metric`).

    Raises:
      ValueError: If `p` or `q` is not a distribution, their shapes differ, both
        `support` and `ground_metric` are given, or either has the wrong shape or
        non-finite (or, for `ground_metric`, negative) entries.
      RuntimeError: If the linear program solver fails.

    Example:
      >>> wasserstein_1([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], support=[0.0, 0.5, 3.0])
      3.0
      >>> grid = np.stack(np.meshgrid([0.0, 2.0], [0.0, 1.0], indexing="ij"), -1)
      >>> p = [[0.5, 0.5], [0.0, 0.0]]  # on the line x = 0
      >>> q = [[0.0, 0.0], [0.5, 0.5]]  # on the line x = 2
      >>> round(wasserstein_1(p, q, support=grid), 9)
      2.0
    """
    p, q = _as_distribution_pair(p, q, ("p", "q"), atol)
    if ground_metric is not None and support is not None:
        raise ValueError("Pass either `support` or `ground_metric`, not both.")
    if ground_metric is not None:
        cost = _as_cost_matrix(ground_metric, p.size)
        p, q = p.ravel(), q.ravel()
        return _optimal_transport_cost(p[p > 0], q[q > 0], cost[np.ix_(p > 0, q > 0)])
    points = _as_points(_default_support(p.shape) if support is None else support, p.shape)
    p, q = p.ravel(), q.ravel()
    if points.shape[1] == 1:
        return _wasserstein_1_on_a_line(p, q, points[:, 0])
    sources, targets = points[p > 0], points[q > 0]
    cost = np.linalg.norm(sources[:, np.newaxis, :] - targets[np.newaxis, :, :], axis=-1)
    return _optimal_transport_cost(p[p > 0], q[q > 0], cost)


def optimal_discriminator(p_data, p_g, *, atol=1e-6):
    """The discriminator that maximises the minimax GAN value for a fixed generator.

    ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Goodfellow et al., "Generative
    Adversarial Networks", https://arxiv.org/abs/1406.2661, Proposition 1). Where
    both probabilities are 0 the ratio is undefined and ``D*`` is set to 0.5, the
    "cannot tell" value; any value in [0, 1] there leaves :func:`minimax_value`
    unchanged, since neither expectation puts mass on that point.

    Args:
      p_data: Array of probabilities of the data distribution (any shape): finite,
        >= 0, summing to 1.
      p_g: Array of probabilities of the generator's distribution, shape of `p_data`.
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      A float64 array of the shape of `p_data`, with values in [0, 1]: 1 where only
      the data has mass, 0 where only the generator has mass.

    Raises:
      ValueError: If `p_data` or `p_g` is not a distribution, or their shapes differ.

    Example:
      >>> optimal_discriminator([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
      array([1. , 0.5, 0. ])
    """
    p_data, p_g = _as_distribution_pair(p_data, p_g, ("p_data", "p_g"), atol)
    total = p_data + p_g
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe_total, 0.5)


def minimax_value(p_data, p_g, discriminator, *, atol=1e-6):
    """The minimax GAN objective V(D, G) of a discriminator on discrete distributions.

    ``V(D, G) = E_{x ~ p_data}[log D(x)] + E_{x ~ p_g}[log(1 - D(x))]``, with
    ``0 * log 0 = 0`` where a distribution has no mass (Goodfellow et al.,
    https://arxiv.org/abs/1406.2661, Eq. 1). It is maximised over D by
    :func:`optimal_discriminator`, where it equals
    ``-log 4 + 2 * JSD(p_data || p_g)`` (Theorem 1), i.e. ``-log 4`` when
    ``p_g = p_data``.

    Args:
      p_data: Array of probabilities of the data distribution (any shape): finite,
        >= 0, summing to 1.
      p_g: Array of probabilities of the generator's distribution, shape of `p_data`.
      discriminator: Array of D(x), the probability that x is real, with the shape
        of `p_data` and values in [0, 1].
      atol: Tolerance, >= 0, on each sum differing from 1.

    Returns:
      V(D, G) in [-inf, 0]: ``-inf`` if D is 0 where the data has mass or 1 where
      the generator has mass.

    Raises:
      ValueError: If `p_data` or `p_g` is not a distribution, shapes differ, or
        `discriminator` has non-finite values or values outside [0, 1].

    Example:
      >>> p = [0.25, 0.75]
      >>> bool(np.isclose(minimax_value(p, p, optimal_discriminator(p, p)), -np.log(4)))
      True
    """
    p_data, p_g = _as_distribution_pair(p_data, p_g, ("p_data", "p_g"), atol)
    d = np.asarray(discriminator, dtype=np.float64)
    if d.shape != p_data.shape:
        raise ValueError(
            f"`discriminator` must have the shape of `p_data`, {p_data.shape}; got {d.shape}.")
    if not np.all(np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise ValueError("`discriminator` must contain values in [0, 1] only.")
    real, fake = p_data > 0, p_g > 0
    with np.errstate(divide="ignore"):
        return float(np.sum(p_data[real] * np.log(d[real]))
                     + np.sum(p_g[fake] * np.log1p(-d[fake])))
