"""Tests of the functional losses of `tfgan_losses` against independent numpy oracles.

Every expected value is computed here, in float64 numpy, from the formulas of
TF-GAN (`tensorflow_gan/python/losses/losses_impl.py`) and TF1's
`tf.compat.v1.losses` (label smoothing, `compute_weighted_loss` reductions);
no expected value is obtained by calling `tfgan_losses`.

Most tests run over `SPECS`, one entry per adversarial loss, with the oracle
taking the same keyword arguments as the library function so both can be
called with identical arguments.

The module runs on every Keras backend (`KERAS_BACKEND`); tests of
TensorFlow-only features (tf.function graphs, tapes, TF1 names, sparse
gradients) are marked `tensorflow_only`. Compiled mode is `tests/backend_modes.py`'s
`compiled`: XLA on TensorFlow, `jax.jit` on JAX, eager on PyTorch.
"""

import inspect
import math

import keras
import numpy as np
import pytest
import scipy.special
import scipy.stats
import tensorflow as tf
from keras import ops

import tfgan_losses as tl
from backend_modes import (
    BACKEND, MODES, dtype_of, flush_records, in_mode, record, tensor,
    to_numpy, value_and_gradients)
from tfgan_losses import Reduction
from tfgan_losses import distributions as tld

# float64 precision end to end: JAX has no float64 unless jax_enable_x64 is set, and some
# of Keras's PyTorch ops compute float64 in float32 (the result keeps float64's dtype).
FLOAT64 = pytest.mark.skipif(BACKEND != "tensorflow", reason="float64 precision is "
                             "TensorFlow's only (JAX: float32 without jax_enable_x64; "
                             "Keras's PyTorch ops: some compute in float32)")

pytestmark = pytest.mark.all_backends

R = Reduction
DEFAULT = R.SUM_BY_NONZERO_WEIGHTS
ALL_REDUCTIONS = (R.NONE, R.SUM, R.MEAN, R.SUM_OVER_BATCH_SIZE, R.SUM_BY_NONZERO_WEIGHTS)
RTOL, ATOL = 1e-5, 1e-5

# ---------------------------------------------------------------------------
# numpy oracles
# ---------------------------------------------------------------------------


def np_reduce(losses, weights=1.0, reduction=DEFAULT):
    """TF1's `compute_weighted_loss`, written from its definition."""
    losses = np.asarray(losses, np.float64)
    w = np.broadcast_to(np.asarray(weights, np.float64), losses.shape)
    weighted = losses * w
    if reduction == R.NONE:
        return weighted
    total = weighted.sum()
    if reduction == R.SUM:
        return total
    if reduction == R.MEAN:
        denominator = w.sum()
    elif reduction == R.SUM_OVER_BATCH_SIZE:
        denominator = losses.size
    elif reduction == R.SUM_BY_NONZERO_WEIGHTS:
        denominator = np.count_nonzero(w)
    else:
        raise AssertionError(reduction)
    return 0.0 if denominator == 0 else total / denominator


def np_sce(z, x):
    """Sigmoid cross-entropy -z log s(x) - (1-z) log(1-s(x)), via log(1+e^t)."""
    x = np.asarray(x, np.float64)
    return z * np.logaddexp(0.0, -x) + (1.0 - z) * np.logaddexp(0.0, x)


def np_softmax_ce(y, x, s=0.0):
    """Softmax cross-entropy with TF1's smoothing y(1-s) + s/K, classes last."""
    y = np.asarray(y, np.float64)
    x = np.asarray(x, np.float64)
    k = x.shape[-1]
    y = y * (1.0 - s) + s / k
    log_p = x - scipy.special.logsumexp(x, axis=-1, keepdims=True)
    return -(y * log_p).sum(axis=-1)


def np_wasserstein_g(gen, weights=1.0, reduction=DEFAULT):
    return np_reduce(-gen, weights, reduction)


def np_wasserstein_d(real, gen, real_weights=1.0, generated_weights=1.0, reduction=DEFAULT):
    return np_reduce(gen, generated_weights, reduction) - np_reduce(real, real_weights, reduction)


def np_hinge_d(real, gen, real_weights=1.0, generated_weights=1.0, real_hinge=1.0,
               generated_hinge=1.0, reduction=DEFAULT):
    return (np_reduce(np.maximum(0.0, real_hinge - real), real_weights, reduction)
            + np_reduce(np.maximum(0.0, generated_hinge + gen), generated_weights, reduction))


def np_minimax_d(real, gen, label_smoothing=0.25, real_weights=1.0, generated_weights=1.0,
                 reduction=DEFAULT):
    real_target = 1.0 - label_smoothing / 2.0  # 1 * (1 - s) + s / 2
    return (np_reduce(np_sce(real_target, real), real_weights, reduction)
            + np_reduce(np_sce(0.0, gen), generated_weights, reduction))


def np_minimax_g(gen, label_smoothing=0.0, weights=1.0, reduction=DEFAULT):
    # TF-GAN: -minimax_discriminator_loss(ones_like(gen), gen, s, weights, weights).
    constant = np_sce(1.0 - label_smoothing / 2.0, np.ones_like(gen))
    return -(np_reduce(constant, weights, reduction)
             + np_reduce(np_sce(0.0, gen), weights, reduction))


def np_modified_g(gen, label_smoothing=0.0, weights=1.0, reduction=DEFAULT):
    return np_reduce(np_sce(1.0 - label_smoothing / 2.0, gen), weights, reduction)


def np_ls_g(gen, real_label=1.0, weights=1.0, reduction=DEFAULT):
    return np_reduce((gen - real_label) ** 2 / 2.0, weights, reduction)


def np_ls_d(real, gen, real_label=1.0, fake_label=0.0, real_weights=1.0,
            generated_weights=1.0, reduction=DEFAULT):
    return (np_reduce((real - real_label) ** 2 / 2.0, real_weights, reduction)
            + np_reduce((gen - fake_label) ** 2 / 2.0, generated_weights, reduction))


def np_rel_d(real, gen, real_weights=1.0, generated_weights=1.0, reduction=DEFAULT):
    real_logits, gen_logits = real - gen.mean(), gen - real.mean()
    return (np_reduce(np_sce(1.0, real_logits), real_weights, reduction)
            + np_reduce(np_sce(0.0, gen_logits), generated_weights, reduction))


def np_rel_g(real, gen, real_weights=1.0, generated_weights=1.0, reduction=DEFAULT):
    real_logits, gen_logits = real - gen.mean(), gen - real.mean()
    return (np_reduce(np_sce(0.0, real_logits), real_weights, reduction)
            + np_reduce(np_sce(1.0, gen_logits), generated_weights, reduction))


def np_acgan_g(gen, labels, weights=1.0, reduction=DEFAULT):
    return np_reduce(np_softmax_ce(labels, gen), weights, reduction)


def np_acgan_d(real, gen, labels, label_smoothing=0.0, real_weights=1.0,
               generated_weights=1.0, reduction=DEFAULT):
    return (np_reduce(np_softmax_ce(labels, gen), generated_weights, reduction)
            + np_reduce(np_softmax_ce(labels, real, label_smoothing), real_weights, reduction))


def np_gradient_penalty(norms, epsilon=1e-10, target=1.0, one_sided=False):
    """Per-example WGAN-GP penalty for gradient norms `norms`."""
    slopes = np.sqrt(np.asarray(norms, np.float64) ** 2 + epsilon)
    penalties = slopes / target - 1.0
    if one_sided:
        penalties = np.maximum(0.0, penalties)
    return penalties ** 2


def np_categorical_log_prob(logits, k):
    logits = np.asarray(logits, np.float64)
    log_p = logits - scipy.special.logsumexp(logits, axis=-1, keepdims=True)
    return np.take_along_axis(log_p, np.asarray(k, int)[..., None], axis=-1)[..., 0]


def np_normal_log_prob(loc, scale, x):
    loc, scale, x = (np.asarray(a, np.float64) for a in (loc, scale, x))
    return -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)


# ---------------------------------------------------------------------------
# The table of adversarial losses
# ---------------------------------------------------------------------------


class Spec:
    """One functional loss: its oracle, calling convention and hyper-parameters.

    kind: "gen" fn(gen, weights=), "two" fn(real, gen, real_weights=,
    generated_weights=), "acgan_g" fn(gen_logits, labels, weights=),
    "acgan_d" fn(real_logits, gen_logits, labels, real_weights=, generated_weights=).
    """

    def __init__(self, name, kind, oracle, default_smoothing=None, hyper=None):
        self.name, self.kind, self.oracle = name, kind, oracle
        self.fn = getattr(tl, name)
        self.default_smoothing = default_smoothing
        self.hyper = hyper or {}

    @property
    def two_sided(self):
        return self.kind in ("two", "acgan_d")

    @property
    def acgan(self):
        return self.kind.startswith("acgan")

    def __repr__(self):
        return self.name


SPECS = [
    Spec("wasserstein_generator_loss", "gen", np_wasserstein_g),
    Spec("wasserstein_discriminator_loss", "two", np_wasserstein_d),
    Spec("wasserstein_hinge_generator_loss", "gen", np_wasserstein_g),
    Spec("wasserstein_hinge_discriminator_loss", "two", np_hinge_d,
         hyper={"real_hinge": 0.5, "generated_hinge": 2.0}),
    Spec("minimax_generator_loss", "gen", np_minimax_g, default_smoothing=0.0),
    Spec("minimax_discriminator_loss", "two", np_minimax_d, default_smoothing=0.25),
    Spec("modified_generator_loss", "gen", np_modified_g, default_smoothing=0.0),
    Spec("modified_discriminator_loss", "two", np_minimax_d, default_smoothing=0.25),
    Spec("least_squares_generator_loss", "gen", np_ls_g, hyper={"real_label": 0.7}),
    Spec("least_squares_discriminator_loss", "two", np_ls_d,
         hyper={"real_label": 0.9, "fake_label": -0.5}),
    Spec("relativistic_generator_loss", "two", np_rel_g),
    Spec("relativistic_discriminator_loss", "two", np_rel_d),
    Spec("acgan_generator_loss", "acgan_g", np_acgan_g),
    Spec("acgan_discriminator_loss", "acgan_d", np_acgan_d, default_smoothing=0.0),
]
SMOOTHING_SPECS = [s for s in SPECS if s.default_smoothing is not None]
TWO_SIDED_SPECS = [s for s in SPECS if s.two_sided]
NUM_CLASSES = 5

# Per-element weights over a [6] loss: different zero counts for the two terms.
W_REAL = np.array([0.5, 0.0, 2.0, 1.5, 0.0, 3.0], np.float32)
W_GEN = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 2.0], np.float32)


def make_inputs(spec, shape=(6,), seed=0, dtype="float32", label_dtype="float32"):
    """Random inputs for `spec`; `shape` is the shape of the per-element loss."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if spec.acgan:
        real = rng.normal(0.0, 3.0, shape + (NUM_CLASSES,)).astype(dtype)
        gen = rng.normal(0.0, 3.0, shape + (NUM_CLASSES,)).astype(dtype)
        labels = np.eye(NUM_CLASSES)[rng.integers(0, NUM_CLASSES, shape)].astype(label_dtype)
        return (real, gen, labels) if spec.two_sided else (gen, labels)
    real = rng.normal(0.0, 3.0, shape).astype(dtype)
    gen = rng.normal(0.0, 3.0, shape).astype(dtype)
    return (real, gen) if spec.two_sided else (gen,)


def weight_kwargs(spec, real_weights, generated_weights):
    if spec.two_sided:
        return {"real_weights": real_weights, "generated_weights": generated_weights}
    return {"weights": generated_weights}


def _as_np(v):
    """Arrays, lists and tensors as float64 numpy; anything else (floats, strings) as is."""
    if ops.is_tensor(v):
        return to_numpy(v).astype(np.float64)
    return np.asarray(v, np.float64) if isinstance(v, (np.ndarray, list)) else v


def oracle(spec, inputs, **kwargs):
    return spec.oracle(*(_as_np(x) for x in inputs), **{k: _as_np(v) for k, v in kwargs.items()})


def check(spec, inputs, rtol=RTOL, atol=ATOL, **kwargs):
    """Asserts that the library and the oracle agree on `inputs` and `kwargs`."""
    got = spec.fn(*inputs, **kwargs)
    want = oracle(spec, inputs, **kwargs)
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(to_numpy(got).astype(np.float64), want, rtol=rtol, atol=atol)
    return got, want


# ---------------------------------------------------------------------------
# Values, weights, reductions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_unweighted_defaults(spec):
    got, _ = check(spec, make_inputs(spec))
    assert tuple(got.shape) == ()
    assert dtype_of(got) == "float32"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.hyper], ids=repr)
def test_hyperparameters(spec):
    inputs = make_inputs(spec, seed=1)
    check(spec, inputs, **spec.hyper)
    check(spec, inputs, reduction=R.NONE, **weight_kwargs(spec, W_REAL, W_GEN), **spec.hyper)
    # The hyper-parameters change the value (they are not ignored).
    assert not np.isclose(float(spec.fn(*inputs, **spec.hyper)), float(spec.fn(*inputs)))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_python_scalar_weight(spec):
    inputs = make_inputs(spec, seed=2)
    got, _ = check(spec, inputs, **weight_kwargs(spec, 2.3, 2.3))
    np.testing.assert_allclose(float(got), 2.3 * float(spec.fn(*inputs)), rtol=1e-5, atol=1e-5)
    if spec.two_sided:  # Different weights on the two terms.
        check(spec, inputs, **weight_kwargs(spec, 0.7, 2.3))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_scalar_tensor_weight(spec):
    inputs = make_inputs(spec, seed=3)
    for reduction in ALL_REDUCTIONS:
        check(spec, inputs, reduction=reduction,
              **weight_kwargs(spec, tensor(0.7, "float32"), tensor(2.3, "float32")))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_per_element_weights_with_zeros(spec):
    """SUM_BY_NONZERO_WEIGHTS divides each term by its own count of non-zero weights."""
    inputs = make_inputs(spec, seed=4)
    got, _ = check(spec, inputs, **weight_kwargs(spec, W_REAL, W_GEN))
    # Not the plain weighted mean over all six elements.
    mean_reduced = oracle(spec, inputs, reduction=R.SUM_OVER_BATCH_SIZE,
                          **weight_kwargs(spec, W_REAL, W_GEN))
    assert not np.isclose(float(got), mean_reduced)
    # Weights as a tensor and as a python list give the same value.
    check(spec, inputs, **weight_kwargs(spec, tensor(W_REAL), list(map(float, W_GEN))))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_all_zero_weights(spec, reduction):
    inputs = make_inputs(spec, seed=5)
    zeros = np.zeros(6, np.float32)
    got = spec.fn(*inputs, reduction=reduction, **weight_kwargs(spec, zeros, zeros))
    want_shape = (6,) if reduction == R.NONE else ()
    assert tuple(got.shape) == want_shape
    np.testing.assert_array_equal(np.abs(to_numpy(got)), np.zeros(want_shape))
    got = spec.fn(*inputs, reduction=reduction, **weight_kwargs(spec, 0.0, 0.0))
    np.testing.assert_array_equal(np.abs(to_numpy(got)), np.zeros(want_shape))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_reductions(spec, reduction):
    inputs = make_inputs(spec, seed=6)
    got, _ = check(spec, inputs, reduction=reduction, **weight_kwargs(spec, W_REAL, W_GEN))
    if reduction == R.NONE:
        assert tuple(got.shape) == (6,)
    else:
        assert tuple(got.shape) == ()
    # Unweighted too.
    check(spec, inputs, reduction=reduction)


@pytest.mark.tensorflow_only  # TF1's tf.compat.v1.losses.Reduction.
def test_reduction_strings_match_tf1():
    tf1 = tf.compat.v1.losses.Reduction
    assert R.NONE == tf1.NONE
    assert R.SUM == tf1.SUM
    assert R.MEAN == tf1.MEAN
    assert R.SUM_OVER_BATCH_SIZE == tf1.SUM_OVER_BATCH_SIZE
    assert R.SUM_BY_NONZERO_WEIGHTS == tf1.SUM_BY_NONZERO_WEIGHTS
    assert R.SUM_OVER_NONZERO_WEIGHTS == tf1.SUM_OVER_NONZERO_WEIGHTS


@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_compute_weighted_loss_broadcast_weights(reduction):
    """Weights of shape [4, 1] weight a [4, 3] loss; non-zero count is per element."""
    rng = np.random.default_rng(7)
    losses = rng.normal(size=(4, 3)).astype(np.float32)
    weights = np.array([[2.0], [0.0], [0.5], [0.0]], np.float32)
    got = tl.compute_weighted_loss(losses, weights, reduction)
    np.testing.assert_allclose(got, np_reduce(losses, weights, reduction), rtol=RTOL, atol=ATOL)


def test_compute_weighted_loss_docstring_example():
    assert float(tl.compute_weighted_loss([1.0, 2.0, 3.0], weights=[1.0, 0.0, 1.0])) == 2.0


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_patch_inputs(spec):
    """2-D "patch" outputs: weights per element, broadcast per example, all reductions."""
    shape = (2, 3) if spec.acgan else (2, 3, 3, 1)
    inputs = make_inputs(spec, shape=shape, seed=8)
    rng = np.random.default_rng(9)
    w_full_r = (rng.random(shape) * (rng.random(shape) > 0.3)).astype(np.float32)
    w_full_g = (rng.random(shape) * (rng.random(shape) > 0.5)).astype(np.float32)
    w_per_example = np.array([0.0, 2.0], np.float32).reshape((2,) + (1,) * (len(shape) - 1))
    check(spec, inputs)
    for reduction in ALL_REDUCTIONS:
        got, _ = check(spec, inputs, reduction=reduction,
                       **weight_kwargs(spec, w_full_r, w_full_g))
        if reduction == R.NONE:
            assert tuple(got.shape) == shape
        check(spec, inputs, reduction=reduction,
              **weight_kwargs(spec, w_full_r, w_per_example))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_tf1_only_arguments_are_accepted(spec):
    inputs = make_inputs(spec, seed=10)
    if spec.name.startswith("relativistic"):
        kwargs = {"scope": "my_scope"}
    else:
        kwargs = {"scope": "my_scope", "loss_collection": "my_losses", "add_summaries": True}
    np.testing.assert_allclose(spec.fn(*inputs, **kwargs), oracle(spec, inputs),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.tensorflow_only  # TF1's tf.compat.v1.GraphKeys.
def test_loss_collection_defaults_to_tf_gans():
    functions = [getattr(tl, name) for name in dir(tl) if inspect.isfunction(getattr(tl, name))]
    defaults = {function.__name__: inspect.signature(function).parameters["loss_collection"].default
                for function in functions
                if "loss_collection" in inspect.signature(function).parameters}
    assert len(defaults) == 14
    assert set(defaults.values()) == {tf.compat.v1.GraphKeys.LOSSES}, defaults


def _numeric_gradient(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_gradients_match_oracle(spec):
    """Gradients w.r.t. every float input equal central differences of the numpy oracle."""
    inputs = list(make_inputs(spec, shape=(2, 3), seed=29))
    float_positions = [0, 1] if spec.two_sided else [0]
    w_real = np.array([[1.0, 0.0, 2.0], [0.5, 0.0, 1.0]], np.float32)
    w_gen = np.array([[0.0, 1.0, 1.0], [3.0, 0.0, 0.0]], np.float32)
    kwargs = dict(weight_kwargs(spec, w_real, w_gen), **spec.hyper)
    if spec.default_smoothing is not None:
        kwargs["label_smoothing"] = 0.3
    # The float inputs as variables, differentiated by the backend's own autodiff.
    variables = {i: keras.Variable(inputs[i]) for i in float_positions}
    args = lambda: [ops.convert_to_tensor(variables[i]) if i in variables else x
                    for i, x in enumerate(inputs)]
    _, grads = value_and_gradients(lambda: spec.fn(*args(), **kwargs),
                                   [variables[i] for i in float_positions])
    for position, grad in zip(float_positions, to_numpy(grads)):
        def f(x, position=position):
            args = list(inputs)
            args[position] = x
            return oracle(spec, args, **kwargs)
        np.testing.assert_allclose(grad, _numeric_gradient(f, inputs[position]),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_extreme_logits_are_finite(spec):
    """Cross-entropies stay finite (and exact) for logits of magnitude 1e3-1e4."""
    inputs = make_inputs(spec, seed=30)
    scale = 1e3 if spec.name.startswith("least_squares") else 1e4
    inputs = tuple(x * scale if x.dtype == np.float32 and not (spec.acgan and i == len(inputs) - 1)
                   else x for i, x in enumerate(inputs))
    got, _ = check(spec, inputs, rtol=1e-5, atol=1e-3)
    assert np.isfinite(got)


def test_integer_weights():
    spec = SPECS[5]  # minimax_discriminator_loss
    inputs = make_inputs(spec, seed=31)
    check(spec, inputs, real_weights=np.array([1, 0, 2, 0, 3, 1], np.int32), generated_weights=2)


# ---------------------------------------------------------------------------
# Label smoothing and loss-specific hyper-parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SMOOTHING_SPECS, ids=repr)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_label_smoothing(spec, smoothing):
    inputs = make_inputs(spec, seed=11)
    check(spec, inputs, label_smoothing=smoothing)
    check(spec, inputs, label_smoothing=smoothing, reduction=R.NONE,
          **weight_kwargs(spec, W_REAL, W_GEN))


@pytest.mark.parametrize("spec", SMOOTHING_SPECS, ids=repr)
def test_default_label_smoothing(spec):
    """Discriminators default to 0.25 (ACGAN: 0), generators to 0."""
    inputs = make_inputs(spec, seed=12)
    got = spec.fn(*inputs)
    want = oracle(spec, inputs, label_smoothing=spec.default_smoothing)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    if spec.default_smoothing:
        assert not np.isclose(float(got), oracle(spec, inputs, label_smoothing=0.0))


def test_sigmoid_label_smoothing_moves_real_label_towards_one_half():
    """With s = 0.25 the real target is 0.875: loss = sce(0.875, x) on real, 0 on gen."""
    x = 1.7
    got = tl.minimax_discriminator_loss([x], [-1e4], label_smoothing=0.25)
    want = -(0.875 * math.log(1 / (1 + math.exp(-x))) + 0.125 * math.log(1 - 1 / (1 + math.exp(-x))))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_softmax_label_smoothing_over_classes():
    """ACGAN smoothing y(1-s) + s/K: with s = 1, labels are uniform."""
    logits = np.array([[1.0, -2.0, 0.5, 3.0]], np.float32)
    labels = np.array([[0.0, 1.0, 0.0, 0.0]], np.float32)
    got = tl.acgan_discriminator_loss(logits, np.zeros_like(logits), labels, label_smoothing=1.0)
    log_p = logits[0].astype(np.float64) - scipy.special.logsumexp(logits[0].astype(np.float64))
    want = math.log(4.0) - log_p.mean()
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_minimax_generator_constant_term():
    """`-minimax_discriminator_loss(ones, gen)`: includes -sce(1, 1) = -log(1 + e^-1)."""
    np.testing.assert_allclose(tl.minimax_generator_loss([0.0]),
                               -(math.log(2.0) + math.log1p(math.exp(-1.0))), rtol=1e-6)
    np.testing.assert_allclose(tl.modified_generator_loss([0.0]), math.log(2.0), rtol=1e-6)


def test_modified_discriminator_equals_minimax_discriminator():
    spec = SPECS[5]
    real, gen = make_inputs(spec, seed=13)
    for s in (0.0, 0.25):
        np.testing.assert_allclose(
            tl.modified_discriminator_loss(real, gen, label_smoothing=s, real_weights=W_REAL),
            tl.minimax_discriminator_loss(real, gen, label_smoothing=s, real_weights=W_REAL))


@pytest.mark.parametrize("real_label,fake_label", [(1, 0), (0.9, -0.5), (-1.0, 1.0), (2, 3)])
def test_least_squares_labels(real_label, fake_label):
    rng = np.random.default_rng(14)
    real, gen = rng.normal(size=(2, 6)).astype(np.float32)
    np.testing.assert_allclose(
        tl.least_squares_discriminator_loss(real, gen, real_label=real_label, fake_label=fake_label),
        np_ls_d(real.astype(np.float64), gen.astype(np.float64), real_label, fake_label),
        rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        tl.least_squares_generator_loss(gen, real_label=real_label),
        np_ls_g(gen.astype(np.float64), real_label), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("real_hinge,generated_hinge", [(1.0, 1.0), (0.0, 0.0), (0.5, 2.0), (3.0, -1.0)])
def test_hinge_margins(real_hinge, generated_hinge):
    rng = np.random.default_rng(15)
    real, gen = rng.normal(0.0, 2.0, size=(2, 8)).astype(np.float32)
    got = tl.wasserstein_hinge_discriminator_loss(
        real, gen, real_hinge=real_hinge, generated_hinge=generated_hinge)
    want = np_hinge_d(real.astype(np.float64), gen.astype(np.float64),
                      real_hinge=real_hinge, generated_hinge=generated_hinge)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_hinge_generator_is_wasserstein_generator():
    gen = np.array([[1.0, -3.0], [0.5, 2.0]], np.float32)
    np.testing.assert_allclose(tl.wasserstein_hinge_generator_loss(gen, weights=W_GEN[:2, None]),
                               tl.wasserstein_generator_loss(gen, weights=W_GEN[:2, None]))


def test_relativistic_uses_means_over_all_elements():
    """D_ra(x_r) = D(x_r) - mean(D(x_f)) with the mean over every element of a patch output."""
    real = np.array([[1.0, 2.0], [3.0, -4.0]], np.float32)
    gen = np.array([[0.5, -1.0], [2.0, 6.0]], np.float32)
    r, g = real.astype(np.float64), gen.astype(np.float64)
    real_logits, gen_logits = r - g.mean(), g - r.mean()
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))
    want_d = -np.mean(np.log(sig(real_logits))) - np.mean(np.log(1 - sig(gen_logits)))
    want_g = -np.mean(np.log(1 - sig(real_logits))) - np.mean(np.log(sig(gen_logits)))
    np.testing.assert_allclose(tl.relativistic_discriminator_loss(real, gen), want_d, rtol=1e-5)
    np.testing.assert_allclose(tl.relativistic_generator_loss(real, gen), want_g, rtol=1e-5)
    np.testing.assert_allclose(tl.relativistic_discriminator_loss([1.0, 1.0], [1.0, 1.0]),
                               2 * math.log(2.0), rtol=1e-6)


# ---------------------------------------------------------------------------
# ACGAN
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label_dtype", ["int32", "int64", "float32", "float64"])
def test_acgan_label_dtypes(label_dtype):
    for spec in (SPECS[12], SPECS[13]):
        inputs = make_inputs(spec, seed=16, label_dtype=label_dtype)
        check(spec, inputs)
        check(spec, inputs, reduction=R.NONE, **weight_kwargs(spec, W_REAL, W_GEN))


def test_acgan_patches():
    """Logits [2, 2, 4]: per-element loss [2, 2], weights broadcast to it."""
    rng = np.random.default_rng(17)
    real, gen = rng.normal(0, 3, size=(2, 2, 2, 4)).astype(np.float32)
    labels = np.eye(4, dtype=np.int32)[rng.integers(0, 4, size=(2, 2))]
    w = np.array([[1.0, 0.0], [2.0, 0.5]], np.float32)
    for reduction in ALL_REDUCTIONS:
        got = tl.acgan_discriminator_loss(real, gen, labels, label_smoothing=0.2,
                                          real_weights=w, generated_weights=w[:, :1],
                                          reduction=reduction)
        want = np_acgan_d(real.astype(np.float64), gen.astype(np.float64), labels, 0.2, w,
                          w[:, :1], reduction)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
        got = tl.acgan_generator_loss(gen, labels, weights=w, reduction=reduction)
        np.testing.assert_allclose(got, np_acgan_g(gen.astype(np.float64), labels, w, reduction),
                                   rtol=RTOL, atol=ATOL)
    assert tuple(tl.acgan_generator_loss(gen, labels, reduction=R.NONE).shape) == (2, 2)


def test_acgan_rejects_class_indices():
    logits = np.zeros((4, 4), np.float32)
    indices = np.array([0, 1, 2, 3], np.int32)
    with pytest.raises(ValueError, match="one_hot_labels"):
        tl.acgan_generator_loss(logits, indices)
    with pytest.raises(ValueError, match="one_hot_labels"):
        tl.acgan_discriminator_loss(logits, logits, indices)
    with pytest.raises(ValueError, match="one_hot_labels"):
        tl.acgan_generator_loss(logits, np.zeros((4, 3), np.float32))


# ---------------------------------------------------------------------------
# Cycle consistency and mutual information
# ---------------------------------------------------------------------------


def test_cycle_consistency_loss():
    rng = np.random.default_rng(18)
    x, x_rec = rng.normal(size=(2, 3, 4, 4, 2)).astype(np.float32)
    y, y_rec = rng.normal(size=(2, 5, 7)).astype(np.float32)
    want = (np.abs(x.astype(np.float64) - x_rec).mean()
            + np.abs(y.astype(np.float64) - y_rec).mean()) / 2
    got = tl.cycle_consistency_loss(x, x_rec, y, y_rec)
    assert got.shape == ()
    np.testing.assert_allclose(got, want, rtol=RTOL)
    np.testing.assert_allclose(tl.cycle_consistency_loss([1.0, 2.0], [2.0, 2.0], [0.0], [2.0]), 1.25)
    np.testing.assert_allclose(tl.cycle_consistency_loss(x, x, y, y), 0.0)


def test_cycle_consistency_empty_batch_adds_zero():
    # TF1's absolute_difference divides by the count of non-zero weights, 0 if none.
    y, y_rec = np.array([[1.0, 2.0, 3.0]]), np.zeros((1, 3))
    np.testing.assert_allclose(
        tl.cycle_consistency_loss(np.zeros((0, 3)), np.zeros((0, 3)), y, y_rec), 1.0)


def test_cycle_consistency_shape_mismatch():
    with pytest.raises(ValueError, match="data_x"):
        tl.cycle_consistency_loss(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="data_y"):
        tl.cycle_consistency_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), np.zeros(3))


def _mi_setup():
    rng = np.random.default_rng(19)
    cat_logits = rng.normal(size=(5, 3)).astype(np.float32)
    cat_codes = rng.integers(0, 3, size=5)
    loc = rng.normal(size=(5, 2)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, size=(5, 2)).astype(np.float32)
    cont_codes = rng.normal(size=(5, 2)).astype(np.float32)
    distributions = [tld.Categorical(logits=cat_logits), tld.Normal(loc=loc, scale=scale)]
    codes = [cat_codes, cont_codes]
    mean_log_probs = np.array([np_categorical_log_prob(cat_logits, cat_codes).mean(),
                               np_normal_log_prob(loc, scale, cont_codes).mean()])
    return codes, distributions, mean_log_probs


def test_mutual_information_penalty_unweighted():
    codes, distributions, mean_log_probs = _mi_setup()
    got = tl.mutual_information_penalty(codes, distributions)
    assert dtype_of(got) == "float32" and tuple(got.shape) == ()
    np.testing.assert_allclose(got, -mean_log_probs.mean(), rtol=RTOL)
    # Tuples of distributions are accepted too.
    np.testing.assert_allclose(tl.mutual_information_penalty(codes, tuple(distributions)),
                               -mean_log_probs.mean(), rtol=RTOL)


@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_mutual_information_penalty_weights_and_reductions(reduction):
    codes, distributions, mean_log_probs = _mi_setup()
    for weights in (2.3, tensor(0.5, "float32"), np.array([0.0, 1.5], np.float32)):
        got = tl.mutual_information_penalty(codes, distributions, weights=weights,
                                            reduction=reduction)
        want = -np_reduce(mean_log_probs, _as_np(weights), reduction)
        if reduction == R.NONE:
            assert tuple(got.shape) == (2,)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_mutual_information_penalty_errors():
    codes, distributions, _ = _mi_setup()
    with pytest.raises(ValueError, match="structured_generator_inputs"):
        tl.mutual_information_penalty(codes[:1], distributions)
    with pytest.raises(ValueError, match="predicted_distributions"):
        tl.mutual_information_penalty(codes, [distributions[0], object()])
    with pytest.raises(ValueError, match="predicted_distributions"):
        tl.mutual_information_penalty(codes[:1], distributions[0])


# ---------------------------------------------------------------------------
# combine_adversarial_loss and numerically_stable_global_norm
# ---------------------------------------------------------------------------

EPS = 1e-6


def test_combine_weight_factor():
    main, adv = tensor([1.0, 2.0, 3.0], "float32"), tensor([0.5, -1.0, 4.0], "float32")
    for factor in (2.0, tensor(2.0, "float32")):
        got = tl.combine_adversarial_loss(main, adv, weight_factor=factor)
        np.testing.assert_allclose(got, [2.0, 0.0, 11.0], rtol=1e-6)


def _ratio_coefficient(main_grads, adv_grads, ratio, eps=EPS):
    return (np.linalg.norm(main_grads) / (np.linalg.norm(adv_grads) + eps)) / ratio


def test_combine_gradient_ratio_with_callables():
    v = keras.Variable(1.0)
    got = tl.combine_adversarial_loss(lambda: 2 * v, lambda: 3 * v, gradient_ratio=0.5,
                                      variables=[v])
    coefficient = _ratio_coefficient([2.0], [3.0], 0.5)
    np.testing.assert_allclose(to_numpy(got), 2 + coefficient * 3, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(got), 6.0, rtol=1e-5)  # The docstring's example.


@pytest.mark.tensorflow_only  # Only TensorFlow's tape finds the variables that callables read.
def test_combine_gradient_ratio_callables_without_variables_use_those_read():
    v = tf.Variable(1.0)
    got = tl.combine_adversarial_loss(lambda: 2 * v, lambda: 3 * v, gradient_ratio=0.5)
    np.testing.assert_allclose(got, 2 + _ratio_coefficient([2.0], [3.0], 0.5) * 3, rtol=1e-6)
    np.testing.assert_allclose(got, 6.0, rtol=1e-5)  # The docstring's example.
    a, b = tf.Variable(1.5), tf.Variable(-2.0)
    coefficient = _ratio_coefficient([2.0, -4.0], [3.0, -1.0], 0.25)
    np.testing.assert_allclose(
        tl.combine_adversarial_loss(lambda: 2 * a + b ** 2, lambda: 3 * a - b,
                                    gradient_ratio=0.25),
        (2 * 1.5 + 4.0) + coefficient * (3 * 1.5 + 2.0), rtol=1e-5)


def test_combine_gradient_ratio_several_variables():
    """Global gradient norms over all variables: main = 2a + b^2, adv = 3a - b."""
    a, b = keras.Variable(1.5), keras.Variable(-2.0)
    main = lambda: 2 * a + b ** 2
    adv = lambda: 3 * a - b
    coefficient = _ratio_coefficient([2.0, -4.0], [3.0, -1.0], 0.25)
    want = (2 * 1.5 + 4.0) + coefficient * (3 * 1.5 + 2.0)
    np.testing.assert_allclose(
        to_numpy(tl.combine_adversarial_loss(main, adv, gradient_ratio=0.25, variables=[a, b])),
        want, rtol=1e-5)
    # Restricting `variables` to `a` uses only its gradients.
    coefficient_a = _ratio_coefficient([2.0], [3.0], 0.25)
    np.testing.assert_allclose(
        to_numpy(tl.combine_adversarial_loss(main, adv, gradient_ratio=0.25, variables=[a])),
        (2 * 1.5 + 4.0) + coefficient_a * (3 * 1.5 + 2.0), rtol=1e-5)




@pytest.mark.skipif(BACKEND == "tensorflow",
                    reason="TensorFlow differentiates tensors in graphs and finds variables "
                           "with its tape")
def test_combine_gradient_ratio_errors_on_jax_and_torch():
    """JAX and PyTorch differentiate callables only, with respect to `variables`."""
    v = keras.Variable(1.0)
    with pytest.raises(RuntimeError, match="callables"):
        tl.combine_adversarial_loss(2 * v, 3 * v, gradient_ratio=0.5, variables=[v])
    with pytest.raises(ValueError, match="variables"):
        tl.combine_adversarial_loss(lambda: 2 * v, lambda: 3 * v, gradient_ratio=0.5)


@pytest.mark.tensorflow_only  # tf.function graph mode (tf.gradients).
def test_combine_gradient_ratio_in_tf_function_with_variables():
    v = tf.Variable(1.0)

    @tf.function
    def combined(ratio):
        return tl.combine_adversarial_loss(2 * v, 3 * v, gradient_ratio=ratio, variables=[v])

    for ratio in (0.5, 2.0):
        want = 2 + _ratio_coefficient([2.0], [3.0], ratio) * 3
        np.testing.assert_allclose(combined(tf.constant(ratio)), want, rtol=1e-6)


@pytest.mark.tensorflow_only  # tf.function graph mode (tf.gradients).
def test_combine_gradient_ratio_in_tf_function_requires_variables():
    v = tf.Variable(1.0)

    @tf.function
    def combined():
        return tl.combine_adversarial_loss(2 * v, 3 * v, gradient_ratio=0.5)

    with pytest.raises(ValueError, match="variables"):
        combined()


@pytest.mark.tensorflow_only  # tape= takes a tf.GradientTape.
def test_combine_gradient_ratio_with_persistent_tape():
    v = tf.Variable(1.0)
    with tf.GradientTape(persistent=True) as tape:
        main, adv = 2 * v, 3 * v
    want = 2 + _ratio_coefficient([2.0], [3.0], 0.5) * 3
    np.testing.assert_allclose(
        tl.combine_adversarial_loss(main, adv, gradient_ratio=0.5, tape=tape), want, rtol=1e-6)
    np.testing.assert_allclose(
        tl.combine_adversarial_loss(main, adv, gradient_ratio=0.5, tape=tape, variables=[v]),
        want, rtol=1e-6)
    del tape


@pytest.mark.tensorflow_only  # tape= takes a tf.GradientTape.
def test_combine_gradient_ratio_with_non_persistent_tape():
    v = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        main, adv = 2 * v, 3 * v
    with pytest.raises(RuntimeError, match="persistent"):
        tl.combine_adversarial_loss(main, adv, gradient_ratio=0.5, tape=tape)


def test_combine_gradient_ratio_eager_tensors_raise():
    """Eager tensors lost their gradients (on JAX and PyTorch, every tensor has)."""
    v = keras.Variable(1.0)
    with pytest.raises(RuntimeError):
        tl.combine_adversarial_loss(2 * v, 3 * v, gradient_ratio=0.5, variables=[v])


def test_combine_coefficient_is_not_differentiated():
    """lambda is stop_gradient-ed: d/dv [v^2 + lambda(v) 3v] = 2v + 3 lambda(v)."""
    v = keras.Variable(2.0)
    combined, (grad,) = value_and_gradients(
        lambda: tl.combine_adversarial_loss(lambda: v ** 2, lambda: 3 * v, gradient_ratio=0.5,
                                            variables=[v]), [v])
    coefficient = _ratio_coefficient([4.0], [3.0], 0.5)
    np.testing.assert_allclose(to_numpy(combined), 4.0 + coefficient * 6.0, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(grad), 4.0 + 3 * coefficient, rtol=1e-6)


@pytest.mark.tensorflow_only  # tf.IndexedSlices, TensorFlow's sparse gradients.
def test_combine_gradient_ratio_with_sparse_gradients():
    """Embedding-style variables get IndexedSlices gradients; their norm must be right."""
    emb = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    main = lambda: tf.reduce_sum(tf.gather(emb, [0, 2]))
    adv = lambda: 3 * tf.reduce_sum(tf.gather(emb, [1]) ** 2)
    main_grad = np.zeros((4, 3))
    main_grad[[0, 2]] = 1.0
    adv_grad = np.zeros((4, 3))
    adv_grad[1] = 6 * np.array([3.0, 4.0, 5.0])
    coefficient = _ratio_coefficient(main_grad.ravel(), adv_grad.ravel(), 1.0)
    got = tl.combine_adversarial_loss(main, adv, gradient_ratio=1.0)
    np.testing.assert_allclose(got, 24.0 + coefficient * 150.0, rtol=1e-5)
    slices = tf.IndexedSlices(tf.ones([2, 3]), tf.constant([0, 2]), tf.constant([4, 3]))
    np.testing.assert_allclose(tl.numerically_stable_global_norm([slices]), math.sqrt(6), rtol=1e-6)


@pytest.mark.parametrize("mode", ["weight_factor", "gradient_ratio"])
def test_combine_zero_weight_returns_main_loss(mode):
    main, adv = tensor([1.0, 2.0], "float32"), tensor([np.nan, np.inf], "float32")
    kwargs = {mode: 0.0}
    got = tl.combine_adversarial_loss(main, adv, **kwargs)  # No gradients needed: eager is fine.
    np.testing.assert_array_equal(to_numpy(got), [1.0, 2.0])
    got = tl.combine_adversarial_loss(main, adv, **{mode: tensor(0.0, "float32")})
    np.testing.assert_array_equal(to_numpy(got), [1.0, 2.0])


def test_combine_incompatible_shapes_are_mean_reduced_to_batch():
    rng = np.random.default_rng(20)
    main = rng.normal(size=(5, 4, 3, 2)).astype(np.float32)
    adv = rng.normal(size=(5, 3, 2)).astype(np.float32)
    got = tl.combine_adversarial_loss(tensor(main), tensor(adv), weight_factor=2.0)
    assert tuple(got.shape) == (5,)
    want = main.astype(np.float64).mean(axis=(1, 2, 3)) + 2.0 * adv.astype(np.float64).mean(axis=(1, 2))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    # Compatible shapes are combined element-wise, unreduced.
    got = tl.combine_adversarial_loss(tensor(main), tensor(main), weight_factor=2.0)
    assert tuple(got.shape) == (5, 4, 3, 2)
    with pytest.raises(ValueError, match="main_loss"):
        tl.combine_adversarial_loss(ops.zeros([5, 3]), ops.zeros([4, 3, 2]), weight_factor=1.0)


def test_combine_argument_validation():
    main, adv = tensor(1.0, "float32"), tensor(1.0, "float32")
    with pytest.raises(ValueError, match="weight_factor"):
        tl.combine_adversarial_loss(main, adv)
    with pytest.raises(ValueError, match="weight_factor"):
        tl.combine_adversarial_loss(main, adv, weight_factor=1.0, gradient_ratio=1.0)
    with pytest.raises(ValueError, match="gradient_ratio_epsilon"):
        tl.combine_adversarial_loss(lambda: main, lambda: adv, gradient_ratio=1.0,
                                    gradient_ratio_epsilon=-1.0)
    with pytest.raises(ValueError, match="main_loss"):
        tl.combine_adversarial_loss(lambda: main, adv, weight_factor=1.0)


def test_numerically_stable_global_norm_avoids_overflow():
    tensors = [ops.ones([4]), ops.ones([4, 4]) * 1e19, None]
    with np.errstate(over="ignore"):  # The plain float32 norm, sqrt(sum(x^2)), overflows.
        plain = np.sqrt(sum(np.sum(np.square(to_numpy(t))) for t in tensors if t is not None))
    assert np.isinf(plain)
    got = to_numpy(tl.numerically_stable_global_norm(tensors))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, math.sqrt(4 + 16 * 1e38), rtol=1e-5)


def test_numerically_stable_global_norm_equals_plain_norm():
    rng = np.random.default_rng(21)
    for _ in range(5):
        arrays = [rng.uniform(-10, 10, size=[3] * i).astype(np.float32) for i in range(6)]
        want = np.sqrt(sum(np.sum(a.astype(np.float64) ** 2) for a in arrays))
        got = tl.numerically_stable_global_norm([tensor(a) for a in arrays] + [None])
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_numerically_stable_global_norm_degenerate():
    assert float(tl.numerically_stable_global_norm([None, None])) == 0.0
    assert float(tl.numerically_stable_global_norm([ops.zeros([3]), ops.zeros([2, 2])])) == 0.0


# ---------------------------------------------------------------------------
# Gradient penalty
# ---------------------------------------------------------------------------

W4 = np.array([0.3, -0.4, 1.2, 0.5], np.float32)  # ||W4|| ~ 1.40
RNG_GP = np.random.default_rng(22)
REAL4 = RNG_GP.normal(size=(3, 4)).astype(np.float32)
GEN4 = RNG_GP.normal(size=(3, 4)).astype(np.float32)


def linear_critic(w):
    """D(x) = sum(w * x) per example: its input gradient is w everywhere (`w` an array,
    or a variable)."""
    return lambda x, _: ops.sum(ops.multiply(w, x), axis=tuple(range(1, len(x.shape))))


def norm(w):
    return float(np.linalg.norm(np.asarray(w, np.float64)))


def test_gradient_penalty_default():
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4))
    assert tuple(got.shape) == () and dtype_of(got) == "float32"
    np.testing.assert_allclose(got, np_gradient_penalty(norm(W4)), rtol=1e-5)


def test_gradient_penalty_target():
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4), target=2.0)
    np.testing.assert_allclose(got, np_gradient_penalty(norm(W4), target=2.0), rtol=1e-5)


def test_gradient_penalty_one_sided():
    below = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4), target=2.0,
                                            one_sided=True)
    assert float(below) == 0.0
    w = 3 * W4  # ||w|| ~ 4.2 > 2
    above = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(w), target=2.0,
                                            one_sided=True)
    np.testing.assert_allclose(above, np_gradient_penalty(norm(w), target=2.0), rtol=1e-5)
    assert float(above) > 0.0


def test_gradient_penalty_epsilon_inside_square_root():
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4), epsilon=1.0)
    want = (math.sqrt(norm(W4) ** 2 + 1.0) - 1.0) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert not np.isclose(float(got), norm(W4) ** 2)  # epsilon outside: (||w|| + 1 - 1)^2
    # A flat critic: sqrt(0 + 1) - 1 = 0.
    flat = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(0 * W4), epsilon=1.0)
    np.testing.assert_allclose(flat, 0.0, atol=1e-7)


@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_gradient_penalty_weights_and_reductions(reduction):
    """D(x, z) = sum(z * x): per-example gradient norms ||z_i||, via generator_inputs."""
    rng = np.random.default_rng(23)
    z = rng.normal(size=(4, 4)).astype(np.float32)
    real, gen = rng.normal(size=(2, 4, 4)).astype(np.float32)
    critic = lambda x, cond: ops.sum(ops.multiply(cond, x), axis=1)
    per_example = np_gradient_penalty(np.linalg.norm(z.astype(np.float64), axis=1))
    weights = np.array([1.0, 0.0, 3.0, 0.0], np.float32)
    got = tl.wasserstein_gradient_penalty(real, gen, z, critic, weights=weights,
                                          reduction=reduction)
    if reduction == R.NONE:
        assert tuple(got.shape) == (4,)
    np.testing.assert_allclose(got, np_reduce(per_example, weights, reduction), rtol=1e-5)
    got = tl.wasserstein_gradient_penalty(real, gen, z, critic, weights=2.3, reduction=reduction)
    np.testing.assert_allclose(got, np_reduce(per_example, 2.3, reduction), rtol=1e-5)


def test_gradient_penalty_image_data():
    """Norm over all non-batch axes of [batch, H, W, C] data."""
    rng = np.random.default_rng(24)
    w = rng.normal(size=(4, 4, 2)).astype(np.float32) * 0.2
    real, gen = rng.normal(size=(2, 3, 4, 4, 2)).astype(np.float32)
    got = tl.wasserstein_gradient_penalty(real, gen, None, linear_critic(w), reduction=R.NONE)
    assert tuple(got.shape) == (3,)
    np.testing.assert_allclose(got, np.full(3, np_gradient_penalty(norm(w))), rtol=1e-5)


def test_gradient_penalty_tuple_discriminator():
    def critic(x, _):
        return ops.sum(ops.multiply(W4, x), axis=1), 100.0 * ops.sum(x ** 2, axis=1)
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, critic)
    np.testing.assert_allclose(got, np_gradient_penalty(norm(W4)), rtol=1e-5)


def test_gradient_penalty_keras_model_discriminator():
    kernel = np.array([[0.5], [-1.0], [0.25], [2.0]], np.float32)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(kernel),
                           bias_initializer=keras.initializers.Constant(3.0))])
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, lambda x, _: model(x))
    np.testing.assert_allclose(to_numpy(got), np_gradient_penalty(norm(kernel)), rtol=1e-5)
    # Differentiable w.r.t. the model's kernel: d/dk (s - 1)^2 = 2 (s - 1) k / s.
    _, (kernel_grad, bias_grad) = value_and_gradients(
        lambda: tl.wasserstein_gradient_penalty(REAL4, GEN4, None,
                                                lambda x, _: model(x, training=True)),
        [model.layers[0].kernel, model.layers[0].bias])
    s = math.sqrt(norm(kernel) ** 2 + 1e-10)
    np.testing.assert_allclose(to_numpy(kernel_grad), 2 * (s - 1) * kernel / s, rtol=1e-5)
    assert bias_grad is None or np.all(to_numpy(bias_grad) == 0)


def test_gradient_penalty_gradient_wrt_discriminator_variables():
    w = keras.Variable(W4)
    _, (grad,) = value_and_gradients(
        lambda: tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(w)), [w])
    assert grad is not None
    grad = to_numpy(grad)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    n = norm(W4)
    np.testing.assert_allclose(grad, 2 * (n - 1) * W4 / n, rtol=1e-5)


def test_gradient_penalty_interpolation_weight_is_uniform_per_example():
    """D(x) = sum(x^2)/2 has gradient x; with real = 0 and generated = 1, x_hat = alpha."""
    n, shape = 2000, (2, 2, 1)
    seen = []

    def critic(x, _):
        record(x, seen)
        return 0.5 * ops.sum(x ** 2, axis=(1, 2, 3))

    penalties = tl.wasserstein_gradient_penalty(
        np.zeros((n,) + shape, np.float32), np.ones((n,) + shape, np.float32), None, critic,
        reduction=R.NONE, seed=keras.random.SeedGenerator(1))
    flush_records()
    penalties = to_numpy(penalties)
    interpolates = seen[-1].reshape(n, -1)
    alpha = interpolates[:, 0]
    np.testing.assert_array_equal(interpolates, np.repeat(alpha[:, None], 4, axis=1))
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert abs(alpha.mean() - 0.5) < 0.03
    assert abs(alpha.var() - 1.0 / 12.0) < 0.01
    assert scipy.stats.kstest(alpha, "uniform").statistic < 0.05
    # The gradient at x_hat is x_hat: norm alpha * sqrt(4).
    np.testing.assert_allclose(penalties, np_gradient_penalty(2.0 * alpha.astype(np.float64)),
                               rtol=1e-4, atol=1e-6)


def test_gradient_penalty_seed():
    seen = []

    def critic(x, _):
        record(x, seen)
        return ops.sum(x, axis=1)

    real, gen = np.zeros((16, 1), np.float32), np.ones((16, 1), np.float32)
    tl.wasserstein_gradient_penalty(real, gen, None, critic)
    tl.wasserstein_gradient_penalty(real, gen, None, critic)
    assert not np.array_equal(seen[0], seen[1])  # Fresh randomness by default.
    tl.wasserstein_gradient_penalty(real, gen, None, critic, seed=7)
    tl.wasserstein_gradient_penalty(real, gen, None, critic, seed=7)
    flush_records()
    np.testing.assert_array_equal(seen[2], seen[3])


@pytest.mark.tensorflow_only  # tf.function input_signature (unknown static shapes).
def test_gradient_penalty_unknown_static_shapes():
    """Data of shape [None, None] (TF-GAN's placeholder test) in tf.function and XLA."""
    w = tf.Variable(W4)
    fn = lambda r, g: tl.wasserstein_gradient_penalty(r, g, None, linear_critic(w),
                                                      reduction=R.NONE)
    want = np.full(3, np_gradient_penalty(norm(W4)))
    graph = tf.function(fn, input_signature=[tf.TensorSpec([None, None])] * 2)
    np.testing.assert_allclose(graph(REAL4, GEN4), want, rtol=1e-5)
    xla = tf.function(fn, input_signature=[tf.TensorSpec([None, 4])] * 2, jit_compile=True)
    np.testing.assert_allclose(xla(REAL4, GEN4), want, rtol=1e-5)


def test_gradient_penalty_validation():
    critic = linear_critic(W4)
    with pytest.raises(ValueError, match="discriminator_fn"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, None)
    with pytest.raises(ValueError, match="discriminator_fn"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, 3.0)
    with pytest.raises(ValueError, match="epsilon"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, critic, epsilon=-1e-3)
    for target in (0.0, -1.0):
        with pytest.raises(ValueError, match="target"):
            tl.wasserstein_gradient_penalty(REAL4, GEN4, None, critic, target=target)
    with pytest.raises(ValueError, match="real_data"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4[:2], None, critic)
    with pytest.raises(ValueError, match="weights"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, critic, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="reduction"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, critic, reduction="mean")


@pytest.mark.skipif(BACKEND == "jax", reason="jax.grad gives zeros, not None, for an input "
                                             "that the output does not depend on")
def test_gradient_penalty_constant_critic():
    with pytest.raises(ValueError, match="does not depend on its input"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, lambda x, _: ops.ones([4]))


@pytest.mark.skipif(BACKEND == "jax", reason="jax.grad gives zeros, not None, for an input "
                                             "that the output does not depend on")
def test_gradient_penalty_critic_that_ignores_its_input():
    """The critic reads a variable, not its input: there is no gradient to penalise."""
    v = keras.Variable(2.0)
    with pytest.raises(ValueError, match="does not depend on its input"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, lambda x, _: v * ops.ones([3]))


@FLOAT64
def test_gradient_penalty_float64():
    critic64 = linear_critic(W4.astype(np.float64))
    got = tl.wasserstein_gradient_penalty(REAL4.astype(np.float64), GEN4.astype(np.float64),
                                          None, critic64)
    assert dtype_of(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), np_gradient_penalty(norm(W4)), rtol=1e-10)


def test_gradient_penalty_dtypes():
    critic16 = linear_critic(W4.astype(np.float16))
    got = tl.wasserstein_gradient_penalty(REAL4.astype(np.float16), GEN4.astype(np.float16),
                                          None, critic16)
    assert dtype_of(got) == "float32"
    np.testing.assert_allclose(to_numpy(got), np_gradient_penalty(norm(W4.astype(np.float16))),
                               rtol=1e-2)


def test_gradient_penalty_float16_data_norm_does_not_overflow():
    """Losses are computed in float32: a float16 critic gradient of 300 per element
    (squared: 90000 > float16 max 65504) must not overflow the norm."""
    real, gen = np.ones((1, 4), np.float16), np.zeros((1, 4), np.float16)
    critic = lambda x, _: 300.0 * ops.sum(x, axis=1)
    got = tl.wasserstein_gradient_penalty(real, gen, None, critic)
    np.testing.assert_allclose(to_numpy(got), np_gradient_penalty(600.0), rtol=1e-3)  # (600 - 1)^2


def test_gradient_penalty_float16_flat_critic_has_finite_gradient():
    """epsilon (1e-10) keeps d sqrt(g^2 + eps) finite at g = 0; in float16 it underflows
    to 0 unless the norm is computed in float32, and the critic's gradient becomes NaN."""
    w = keras.Variable(np.zeros(4, np.float16), dtype="float16")
    penalty, (grad,) = value_and_gradients(
        lambda: tl.wasserstein_gradient_penalty(
            np.ones((2, 4), np.float16), np.zeros((2, 4), np.float16), None, linear_critic(w)),
        [w])
    grad = to_numpy(grad).astype(np.float64)
    np.testing.assert_allclose(to_numpy(penalty), 1.0, rtol=1e-3)
    assert np.all(np.isfinite(grad)), grad
    np.testing.assert_allclose(grad, 0.0, atol=1e-3)


def test_gradient_penalty_gradient_scale_keeps_value():
    """`gradient_scale` (a loss scale for mixed precision) changes neither value nor gradient."""
    import inspect
    if "gradient_scale" not in inspect.signature(tl.wasserstein_gradient_penalty).parameters:
        pytest.skip("wasserstein_gradient_penalty has no gradient_scale argument")
    w = keras.Variable(W4)
    penalty, (grad,) = value_and_gradients(
        lambda: tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(w),
                                                gradient_scale=1024.0), [w])
    n = norm(W4)
    np.testing.assert_allclose(to_numpy(penalty), np_gradient_penalty(n), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(grad), 2 * (n - 1) * W4 / n, rtol=1e-5)


def test_gradient_penalty_tensor_target():
    got = tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4),
                                          target=tensor(2.0, "float32"))
    np.testing.assert_allclose(to_numpy(got), np_gradient_penalty(norm(W4), target=2.0),
                               rtol=1e-5)


def test_numpy_scalar_hyperparameters_are_validated():
    """np.float32 is not a Python float: range checks must not skip numpy scalars."""
    real, gen = np.zeros(3, np.float32), np.zeros(3, np.float32)
    for smoothing in (np.float32(1.5), np.float32(-0.1)):
        with pytest.raises(ValueError, match="label_smoothing"):
            tl.minimax_discriminator_loss(real, gen, label_smoothing=smoothing)
    with pytest.raises(ValueError, match="epsilon"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4),
                                        epsilon=np.float32(-1.0))
    with pytest.raises(ValueError, match="target"):
        tl.wasserstein_gradient_penalty(REAL4, GEN4, None, linear_critic(W4),
                                        target=np.float32(0.0))
    with pytest.raises(ValueError, match="gradient_ratio_epsilon"):
        tl.combine_adversarial_loss(lambda: tensor(1.0, "float32"),
                                    lambda: tensor(1.0, "float32"),
                                    gradient_ratio=1.0, gradient_ratio_epsilon=np.float32(-1.0))


# ---------------------------------------------------------------------------
# Eager, tf.function and XLA (TensorFlow); eager and compiled (every backend)
# ---------------------------------------------------------------------------


def _three_modes(fn, *args):
    eager = fn(*args)
    graph = tf.function(fn)(*args)
    xla = tf.function(fn, jit_compile=True)(*args)
    return eager, graph, xla


def _assert_modes_agree(results, want=None):
    eager, graph, xla = (tf.nest.map_structure(np.asarray, r) for r in results)
    tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                          eager, graph)
    tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                          eager, xla)
    if want is not None:
        np.testing.assert_allclose(np.asarray(eager[0] if isinstance(eager, tuple) else eager,
                                              np.float64), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.tensorflow_only  # tf.function graph mode beside eager and XLA.
def test_eager_tf_function_xla_agree(spec):
    inputs = [tf.constant(x) for x in make_inputs(spec, shape=(2, 3), seed=25)]
    w_real = tf.constant([[1.0, 0.0, 2.0], [0.5, 0.0, 1.0]])
    w_gen = tf.constant([[0.0, 1.0, 1.0], [3.0, 0.0, 0.0]])
    n = len(inputs)

    def fn(*args):
        return spec.fn(*args[:n], **weight_kwargs(spec, args[n], args[n + 1]), **spec.hyper)

    results = _three_modes(fn, *inputs, w_real, w_gen)
    want = oracle(spec, inputs, **weight_kwargs(spec, w_real, w_gen), **spec.hyper)
    _assert_modes_agree(results, want)


def _mutual_information_case():
    """`mutual_information_penalty` of logits, loc and codes, and its numpy value for
    logits [[1, 2, 0.5]], loc [0.5, -1], codes [2] and [0, 1]."""
    def mi(logits, loc, codes_cat, codes_cont):
        return tl.mutual_information_penalty(
            [codes_cat, codes_cont], [tld.Categorical(logits), tld.Normal(loc, 2.0)],
            weights=[1.0, 0.5])
    want = -np_reduce([np_categorical_log_prob([[1.0, 2.0, 0.5]], [2]).mean(),
                       np_normal_log_prob([0.5, -1.0], 2.0, [0.0, 1.0]).mean()], [1.0, 0.5])
    return mi, want


@pytest.mark.tensorflow_only  # tf.function graph mode beside eager and XLA.
def test_eager_tf_function_xla_agree_other_losses():
    rng = np.random.default_rng(26)
    x, x_rec = tf.constant(rng.normal(size=(2, 2, 3)).astype(np.float32))
    y, y_rec = tf.constant(rng.normal(size=(2, 4)).astype(np.float32))
    want = (np.abs(np.asarray(x, np.float64) - np.asarray(x_rec)).mean()
            + np.abs(np.asarray(y, np.float64) - np.asarray(y_rec)).mean()) / 2
    _assert_modes_agree(_three_modes(tl.cycle_consistency_loss, x, x_rec, y, y_rec), want)

    logits, loc = tf.constant([[1.0, 2.0, 0.5]]), tf.constant([0.5, -1.0])

    mi, want = _mutual_information_case()
    _assert_modes_agree(_three_modes(mi, logits, loc, tf.constant([2]), tf.constant([0.0, 1.0])),
                        want)

    arrays = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in ((3,), (2, 2))]
    want = np.sqrt(sum(np.sum(np.asarray(a, np.float64) ** 2) for a in arrays))
    _assert_modes_agree(_three_modes(lambda a, b: tl.numerically_stable_global_norm([a, b, None]),
                                     *arrays), want)


@pytest.mark.tensorflow_only  # tf.function graph mode beside eager and XLA.
def test_eager_tf_function_xla_agree_combine():
    v = tf.Variable(2.0)

    def ratio(r):
        return tl.combine_adversarial_loss(lambda: v ** 2, lambda: 3 * v, gradient_ratio=r)

    want = 4.0 + _ratio_coefficient([4.0], [3.0], 0.5) * 6.0
    _assert_modes_agree(_three_modes(ratio, tf.constant(0.5)), want)

    def factor(main, adv):
        return tl.combine_adversarial_loss(main, adv, weight_factor=2.0)

    _assert_modes_agree(_three_modes(factor, tf.ones([3, 2]), tf.ones([3])), np.full(3, 3.0))


@pytest.mark.tensorflow_only  # tf.function graph mode beside eager and XLA.
def test_eager_tf_function_xla_agree_combine_graph_gradients():
    """Plain tensors with `variables=` inside tf.function use tf.gradients (TF1 path)."""
    v = tf.Variable(1.0)

    def fn(r):
        return tl.combine_adversarial_loss(2 * v, 3 * v, gradient_ratio=r, variables=[v])

    want = 2 + _ratio_coefficient([2.0], [3.0], 0.5) * 3
    np.testing.assert_allclose(tf.function(fn)(tf.constant(0.5)), want, rtol=1e-6)
    np.testing.assert_allclose(tf.function(fn, jit_compile=True)(tf.constant(0.5)), want, rtol=1e-6)


@pytest.mark.tensorflow_only  # tf.function graph mode beside eager and XLA.
def test_gradient_penalty_eager_tf_function_xla():
    w = tf.Variable(W4)

    def step(real, gen):
        with tf.GradientTape() as tape:
            penalty = tl.wasserstein_gradient_penalty(real, gen, None, linear_critic(w))
        return penalty, tape.gradient(penalty, w)

    results = _three_modes(step, tf.constant(REAL4), tf.constant(GEN4))
    _assert_modes_agree(results, np_gradient_penalty(norm(W4)))
    n = norm(W4)
    for _, grad in results:
        grad = np.asarray(grad)
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad, 2 * (n - 1) * W4 / n, rtol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_eager_and_compiled(spec, mode):
    """Every adversarial loss, with weights and hyper-parameters, in each mode of the backend."""
    inputs = [tensor(x) for x in make_inputs(spec, shape=(2, 3), seed=25)]
    w_real = tensor([[1.0, 0.0, 2.0], [0.5, 0.0, 1.0]], "float32")
    w_gen = tensor([[0.0, 1.0, 1.0], [3.0, 0.0, 0.0]], "float32")
    n = len(inputs)

    def fn(*args):
        return spec.fn(*args[:n], **weight_kwargs(spec, args[n], args[n + 1]), **spec.hyper)

    got = in_mode(mode, fn)(*inputs, w_real, w_gen)
    want = oracle(spec, inputs, **weight_kwargs(spec, w_real, w_gen), **spec.hyper)
    np.testing.assert_allclose(to_numpy(got).astype(np.float64), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_eager_and_compiled_other_losses(mode):
    """Cycle consistency, mutual information and the global norm in each mode."""
    rng = np.random.default_rng(26)
    x, x_rec = rng.normal(size=(2, 2, 2, 3)).astype(np.float32)
    y, y_rec = rng.normal(size=(2, 2, 4)).astype(np.float32)
    want = (np.abs(x.astype(np.float64) - x_rec).mean()
            + np.abs(y.astype(np.float64) - y_rec).mean()) / 2
    got = in_mode(mode, tl.cycle_consistency_loss)(*map(tensor, (x, x_rec, y, y_rec)))
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-5)

    mi, want = _mutual_information_case()
    got = in_mode(mode, mi)(tensor([[1.0, 2.0, 0.5]], "float32"), tensor([0.5, -1.0], "float32"),
                            tensor([2], "int32"), tensor([0.0, 1.0], "float32"))
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-5)

    arrays = [rng.normal(size=s).astype(np.float32) for s in ((3,), (2, 2))]
    want = np.sqrt(sum(np.sum(a.astype(np.float64) ** 2) for a in arrays))
    got = in_mode(mode, lambda a, b: tl.numerically_stable_global_norm([a, b, None]))(
        *map(tensor, arrays))
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_eager_and_compiled_combine(mode):
    """combine_adversarial_loss by gradient ratio (callables and `variables`) and by weight."""
    v = keras.Variable(2.0)

    def ratio(r):
        return tl.combine_adversarial_loss(lambda: v ** 2, lambda: 3 * v, gradient_ratio=r,
                                           variables=[v])

    want = 4.0 + _ratio_coefficient([4.0], [3.0], 0.5) * 6.0
    np.testing.assert_allclose(to_numpy(in_mode(mode, ratio)(tensor(0.5, "float32"))), want,
                               rtol=1e-5, atol=1e-6)

    def factor(main, adv):
        return tl.combine_adversarial_loss(main, adv, weight_factor=2.0)

    got = in_mode(mode, factor)(ops.ones([3, 2]), ops.ones([3]))
    np.testing.assert_allclose(to_numpy(got), np.full(3, 3.0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_gradient_penalty_eager_and_compiled(mode):
    """The penalty and its gradient with respect to the critic's variable, in each mode."""
    w = keras.Variable(W4)

    def step(real, gen):
        # Seeded: under jax.jit Keras refuses unseeded random draws (training steps pass
        # their model's SeedGenerator).
        return value_and_gradients(
            lambda: tl.wasserstein_gradient_penalty(real, gen, None, linear_critic(w), seed=3),
            [w])

    penalty, (grad,) = in_mode(mode, step)(tensor(REAL4), tensor(GEN4))
    n = norm(W4)
    np.testing.assert_allclose(to_numpy(penalty), np_gradient_penalty(n), rtol=1e-5, atol=1e-5)
    grad = to_numpy(grad)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, 2 * (n - 1) * W4 / n, rtol=1e-5)


# ---------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------


# TF-GAN reduces the two cross-entropy terms of these separately, so their batches
# may differ in size.
SEPARATELY_REDUCED = ("minimax_discriminator_loss", "modified_discriminator_loss")


@pytest.mark.parametrize("spec", TWO_SIDED_SPECS, ids=repr)
def test_shape_mismatch_between_real_and_generated(spec):
    name = ("discriminator_real_classification_logits" if spec.acgan
            else "discriminator_real_outputs")
    # Only element-wise (unreduced) sums need matching shapes in minimax and modified.
    kwargs = {"reduction": Reduction.NONE} if spec.name in SEPARATELY_REDUCED else {}
    # Different sizes; same size but different rank (a patch output against a vector).
    for real_shape, gen_shape in [((6,), (5,)), ((2, 3), (6,))]:
        real = make_inputs(spec, shape=real_shape, seed=27)[0]
        others = make_inputs(spec, shape=gen_shape, seed=27)[1:]
        with pytest.raises(ValueError, match=name):
            spec.fn(real, *others, **kwargs)


@pytest.mark.parametrize("name", SEPARATELY_REDUCED)
@pytest.mark.parametrize("reduction", ALL_REDUCTIONS[1:])
def test_real_and_generated_batches_of_different_sizes(name, reduction):
    spec = next(s for s in SPECS if s.name == name)
    real = make_inputs(spec, shape=(6,), seed=28)[0]
    gen = make_inputs(spec, shape=(4, 1), seed=29)[1]
    kwargs = {"real_weights": W_REAL, "generated_weights": np.array([[0.0], [1.0], [2.0], [1.0]],
                                                                    np.float32)}
    check(spec, (real, gen), reduction=reduction, **kwargs)


@pytest.mark.parametrize("spec", SMOOTHING_SPECS, ids=repr)
@pytest.mark.parametrize("smoothing", [-0.1, 1.5])
def test_label_smoothing_out_of_range(spec, smoothing):
    with pytest.raises(ValueError, match="label_smoothing"):
        spec.fn(*make_inputs(spec), label_smoothing=smoothing)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_weights_not_broadcastable(spec):
    """The message names the offending argument of the function that was called."""
    inputs = make_inputs(spec)
    bad_shapes = [np.ones(3, np.float32), np.ones((6, 2), np.float32)]
    for bad in bad_shapes:
        if spec.two_sided:
            with pytest.raises(ValueError, match="`real_weights`"):
                spec.fn(*inputs, real_weights=bad)
            with pytest.raises(ValueError, match="`generated_weights`"):
                spec.fn(*inputs, generated_weights=bad)
        else:
            with pytest.raises(ValueError, match="`weights`"):
                spec.fn(*inputs, weights=bad)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum_over_batch_size", "SUM", None])
def test_invalid_reduction(spec, reduction):
    with pytest.raises(ValueError, match="reduction"):
        spec.fn(*make_inputs(spec), reduction=reduction)


def test_invalid_reduction_other_functions():
    codes, distributions, _ = _mi_setup()
    with pytest.raises(ValueError, match="reduction"):
        tl.mutual_information_penalty(codes, distributions, reduction="sum")
    with pytest.raises(ValueError, match="reduction"):
        tl.compute_weighted_loss([1.0], reduction="weighted")


# ---------------------------------------------------------------------------
# Dtypes
# ---------------------------------------------------------------------------



@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("dtype,out_dtype,rtol", [
    ("float32", "float32", 1e-5), ("float16", "float32", 1e-5),
    pytest.param("float64", "float64", 1e-12, marks=FLOAT64)])
def test_dtypes(spec, dtype, out_dtype, rtol):
    """float16 is computed in float32 (mixed precision); float64 stays float64."""
    inputs = make_inputs(spec, seed=28, dtype=dtype, label_dtype="int32")
    for kwargs in ({}, {"reduction": R.NONE, **weight_kwargs(spec, W_REAL, W_GEN)}):
        got = spec.fn(*inputs, **kwargs)
        assert dtype_of(got) == out_dtype, kwargs
        np.testing.assert_allclose(to_numpy(got), oracle(spec, inputs, **kwargs), rtol=rtol,
                                   atol=rtol)


@pytest.mark.parametrize("spec", TWO_SIDED_SPECS, ids=repr)
@pytest.mark.parametrize("float64_input", [0, 1])
@FLOAT64
def test_float64_beside_float32_is_computed_in_float64(spec, float64_input):
    """float64 data (numpy's default) beside a float32 network output."""
    inputs = list(make_inputs(spec, seed=29, label_dtype="int32"))
    inputs[float64_input] = inputs[float64_input].astype(np.float64)
    got = spec.fn(*inputs)
    assert dtype_of(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), oracle(spec, inputs), rtol=1e-6)


@pytest.mark.parametrize("dtype,out_dtype", [
    ("float32", "float32"), ("float16", "float32"),
    pytest.param("float64", "float64", marks=FLOAT64)])
def test_cycle_consistency_dtypes(dtype, out_dtype):
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)
    got = tl.cycle_consistency_loss(x, x + 1, x, x - 3)
    assert dtype_of(got) == out_dtype
    np.testing.assert_allclose(to_numpy(got), 2.0)


@FLOAT64
def test_cycle_consistency_mixes_float64_and_float32():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = tl.cycle_consistency_loss(x, (x + 1).astype(np.float32), x.astype(np.float32), x - 3)
    assert dtype_of(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), 2.0)


@pytest.mark.parametrize("mode", [
    "callables",
    pytest.param("tape", marks=pytest.mark.tensorflow_only),  # tape= takes a tf.GradientTape.
    pytest.param("tf_function", marks=pytest.mark.tensorflow_only),  # tf.function graph mode.
])
def test_combine_gradient_ratio_of_mean_reduced_losses(mode):
    """Incompatible shapes: lambda comes from the gradients of the per-example means.

    main = [[a, b], [b, 3a]] -> means [(a + b) / 2, (b + 3a) / 2], gradient of their sum
    (2, 1); adv = [a^2, b^2] -> gradient (2a, 2b).
    """
    a, b = 1.5, -2.0
    if mode == "callables":  # Every backend: Keras variables, differentiated by the library.
        variables = [keras.Variable(a), keras.Variable(b)]

        def main():
            x, y = (v.value for v in variables)
            return ops.stack([ops.stack([x, y]), ops.stack([y, 3 * x])])

        def adv():
            x, y = (v.value for v in variables)
            return ops.stack([x ** 2, y ** 2])
    else:
        variables = [tf.Variable(a), tf.Variable(b)]
        main = lambda: tf.stack([[variables[0], variables[1]], [variables[1], 3 * variables[0]]])
        adv = lambda: tf.stack([variables[0] ** 2, variables[1] ** 2])
    if mode == "callables":
        got = tl.combine_adversarial_loss(main, adv, gradient_ratio=0.5, variables=variables)
    elif mode == "tape":
        with tf.GradientTape(persistent=True) as tape:
            main_loss, adv_loss = main(), adv()
        got = tl.combine_adversarial_loss(main_loss, adv_loss, gradient_ratio=0.5, tape=tape)
    else:
        got = tf.function(lambda: tl.combine_adversarial_loss(
            main(), adv(), gradient_ratio=0.5, variables=variables))()
    coefficient = _ratio_coefficient([2.0, 1.0], [2 * a, 2 * b], 0.5)
    want = np.array([(a + b) / 2, (b + 3 * a) / 2]) + coefficient * np.array([a * a, b * b])
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-6)
