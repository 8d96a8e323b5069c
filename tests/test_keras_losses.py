"""Tests of the Keras `Loss` classes of `tfgan_losses` against numpy oracles.

Calling conventions (module docstring of `keras_losses.py`):
generator losses `loss(None, gen)`; two-sided losses (discriminators and both
relativistic losses) `loss(real, gen)`; `ACGANGeneratorLoss` `loss(one_hot, logits)`;
`ACGANDiscriminatorLoss` `loss(one_hot, (real_logits, gen_logits))`.
`sample_weight` is TF-GAN's `weights` (both terms of two-sided losses).

The module runs on every Keras backend; TensorFlow-only tests (tf.function
graph mode) are marked `tensorflow_only`. Compiled mode is
`tests/backend_modes.py`'s `compiled`: XLA, `jax.jit`, eager on PyTorch.
"""

import keras
import numpy as np
import pytest
import scipy.special
import tensorflow as tf

import tfgan_losses as tl
from backend_modes import BACKEND, MODES, dtype_of, in_mode, tensor, to_numpy
from tfgan_losses import Reduction as R

pytestmark = pytest.mark.all_backends

DEFAULT = R.SUM_BY_NONZERO_WEIGHTS
ALL_REDUCTIONS = (R.NONE, R.SUM, R.MEAN, R.SUM_OVER_BATCH_SIZE, R.SUM_BY_NONZERO_WEIGHTS)
BATCH, K = 6, 4

# ---------------------------------------------------------------------------
# numpy oracles (same formulas as tests/test_losses.py, kept self-contained)
# ---------------------------------------------------------------------------


def np_reduce(losses, weights=1.0, reduction=DEFAULT):
    losses = np.asarray(losses, np.float64)
    w = np.broadcast_to(np.asarray(weights, np.float64), losses.shape)
    weighted = losses * w
    if reduction == R.NONE:
        return weighted
    total = weighted.sum()
    denominator = {R.SUM: 1.0, R.MEAN: w.sum(), R.SUM_OVER_BATCH_SIZE: losses.size,
                   R.SUM_BY_NONZERO_WEIGHTS: np.count_nonzero(w)}[reduction]
    return 0.0 if denominator == 0 else total / denominator


def sce(z, x):
    return z * np.logaddexp(0.0, -x) + (1.0 - z) * np.logaddexp(0.0, x)


def softmax_ce(y, x, s=0.0):
    y = y * (1.0 - s) + s / x.shape[-1]
    return -(y * (x - scipy.special.logsumexp(x, axis=-1, keepdims=True))).sum(-1)


def o_wass_g(gen, w, red):
    return np_reduce(-gen, w, red)


def o_wass_d(real, gen, w, red):
    return np_reduce(gen, w, red) - np_reduce(real, w, red)


def o_hinge_d(real, gen, w, red, real_hinge=1.0, generated_hinge=1.0):
    return (np_reduce(np.maximum(0, real_hinge - real), w, red)
            + np_reduce(np.maximum(0, generated_hinge + gen), w, red))


def o_minimax_g(gen, w, red, label_smoothing=0.0):
    return -(np_reduce(sce(1 - label_smoothing / 2, np.ones_like(gen)), w, red)
             + np_reduce(sce(0.0, gen), w, red))


def o_minimax_d(real, gen, w, red, label_smoothing=0.25):
    return np_reduce(sce(1 - label_smoothing / 2, real), w, red) + np_reduce(sce(0.0, gen), w, red)


def o_modified_g(gen, w, red, label_smoothing=0.0):
    return np_reduce(sce(1 - label_smoothing / 2, gen), w, red)


def o_ls_g(gen, w, red, real_label=1.0):
    return np_reduce((gen - real_label) ** 2 / 2, w, red)


def o_ls_d(real, gen, w, red, real_label=1.0, fake_label=0.0):
    return np_reduce((real - real_label) ** 2 / 2, w, red) + np_reduce((gen - fake_label) ** 2 / 2, w, red)


def o_rel_g(real, gen, w, red):
    return np_reduce(sce(0.0, real - gen.mean()), w, red) + np_reduce(sce(1.0, gen - real.mean()), w, red)


def o_rel_d(real, gen, w, red):
    return np_reduce(sce(1.0, real - gen.mean()), w, red) + np_reduce(sce(0.0, gen - real.mean()), w, red)


def o_acgan_g(labels, gen, w, red):
    return np_reduce(softmax_ce(labels, gen), w, red)


def o_acgan_d(labels, real, gen, w, red, label_smoothing=0.0):
    return (np_reduce(softmax_ce(labels, gen), w, red)
            + np_reduce(softmax_ce(labels, real, label_smoothing), w, red))


class Spec:
    """kind: "gen" loss(None, gen); "two" loss(real, gen); "acgan_g"; "acgan_d"."""

    def __init__(self, cls, kind, oracle, hyper, requires_real, functional):
        self.cls, self.kind, self.oracle = cls, kind, oracle
        self.hyper, self.requires_real, self.functional = hyper, requires_real, functional

    @property
    def acgan_like(self):
        return self.kind.startswith("acgan")

    def __repr__(self):
        return self.cls.__name__


SPECS = [
    Spec(tl.WassersteinGeneratorLoss, "gen", o_wass_g, {}, False, "wasserstein_generator_loss"),
    Spec(tl.WassersteinDiscriminatorLoss, "two", o_wass_d, {}, True,
         "wasserstein_discriminator_loss"),
    Spec(tl.WassersteinHingeGeneratorLoss, "gen", o_wass_g, {}, False,
         "wasserstein_hinge_generator_loss"),
    Spec(tl.WassersteinHingeDiscriminatorLoss, "two", o_hinge_d,
         {"real_hinge": 0.5, "generated_hinge": 2.0}, True, "wasserstein_hinge_discriminator_loss"),
    Spec(tl.MinimaxGeneratorLoss, "gen", o_minimax_g, {"label_smoothing": 0.1}, False,
         "minimax_generator_loss"),
    Spec(tl.MinimaxDiscriminatorLoss, "two", o_minimax_d, {"label_smoothing": 0.3}, True,
         "minimax_discriminator_loss"),
    Spec(tl.ModifiedGeneratorLoss, "gen", o_modified_g, {"label_smoothing": 0.2}, False,
         "modified_generator_loss"),
    Spec(tl.ModifiedDiscriminatorLoss, "two", o_minimax_d, {"label_smoothing": 0.1}, True,
         "modified_discriminator_loss"),
    Spec(tl.LeastSquaresGeneratorLoss, "gen", o_ls_g, {"real_label": 0.8}, False,
         "least_squares_generator_loss"),
    Spec(tl.LeastSquaresDiscriminatorLoss, "two", o_ls_d, {"real_label": 0.9, "fake_label": -0.5},
         True, "least_squares_discriminator_loss"),
    Spec(tl.RelativisticGeneratorLoss, "two", o_rel_g, {}, True, "relativistic_generator_loss"),
    Spec(tl.RelativisticDiscriminatorLoss, "two", o_rel_d, {}, True,
         "relativistic_discriminator_loss"),
    Spec(tl.ACGANGeneratorLoss, "acgan_g", o_acgan_g, {}, False, "acgan_generator_loss"),
    Spec(tl.ACGANDiscriminatorLoss, "acgan_d", o_acgan_d, {"label_smoothing": 0.2}, True,
         "acgan_discriminator_loss"),
]
HYPER_SPECS = [s for s in SPECS if s.hyper]


def make_data(spec, seed=0, batch=BATCH):
    """Returns (y_true, y_pred) in the documented convention and the oracle's arrays."""
    rng = np.random.default_rng(seed)
    if spec.kind in ("gen", "two"):
        real, gen = rng.normal(0.0, 3.0, size=(2, batch, 1)).astype(np.float32)
        if spec.kind == "gen":
            return (None, gen), (gen.astype(np.float64),)
        return (real, gen), (real.astype(np.float64), gen.astype(np.float64))
    real, gen = rng.normal(0.0, 3.0, size=(2, batch, K)).astype(np.float32)
    labels = np.eye(K, dtype=np.int32)[rng.integers(0, K, batch)]
    if spec.kind == "acgan_g":
        return (labels, gen), (labels.astype(np.float64), gen.astype(np.float64))
    return ((labels, (real, gen)),
            (labels.astype(np.float64), real.astype(np.float64), gen.astype(np.float64)))


def oracle_weights(spec, sample_weight):
    """[batch] sample weights as the oracle sees them: [batch, 1] for [batch, 1] outputs."""
    if sample_weight is None:
        return 1.0
    w = np.asarray(sample_weight, np.float64)
    return w if spec.acgan_like else w[:, None]


SAMPLE_WEIGHT = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0], np.float32)


def check(spec, loss, sample_weight=None, reduction=DEFAULT, hyper=None, seed=0):
    (y_true, y_pred), arrays = make_data(spec, seed)
    got = loss(y_true, y_pred, sample_weight=sample_weight)
    want = spec.oracle(*arrays, oracle_weights(spec, sample_weight), reduction, **(hyper or {}))
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(to_numpy(got).astype(np.float64), want, rtol=1e-5, atol=1e-5)
    return got


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_default_value(spec):
    got = check(spec, spec.cls())
    assert tuple(got.shape) == () and dtype_of(got) == "float32"


@pytest.mark.parametrize("spec", HYPER_SPECS, ids=repr)
def test_hyperparameters_value(spec):
    check(spec, spec.cls(**spec.hyper), hyper=spec.hyper, seed=1)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_equals_functional_loss(spec):
    """The class computes exactly its functional twin (same hyper-parameters)."""
    (y_true, y_pred), _ = make_data(spec, seed=2)
    fn = getattr(tl, spec.functional)
    got = spec.cls(**spec.hyper)(y_true, y_pred)
    if spec.kind == "gen":
        want = fn(y_pred, **spec.hyper)
    elif spec.kind == "two":
        want = fn(y_true, y_pred, **spec.hyper)
    elif spec.kind == "acgan_g":
        want = fn(y_pred, y_true, **spec.hyper)
    else:
        want = fn(y_pred[0], y_pred[1], y_true, **spec.hyper)
    np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("reduction", ALL_REDUCTIONS)
def test_sample_weight_and_reduction(spec, reduction):
    """A [batch] `sample_weight` weights [batch, 1] outputs (or [batch, K] logits) per example."""
    loss = spec.cls(reduction=reduction, **spec.hyper)
    got = check(spec, loss, sample_weight=SAMPLE_WEIGHT, reduction=reduction, hyper=spec.hyper,
                seed=3)
    if reduction == R.NONE:
        assert tuple(got.shape) == ((BATCH,) if spec.acgan_like else (BATCH, 1))
    check(spec, loss, sample_weight=tensor(SAMPLE_WEIGHT), reduction=reduction,
          hyper=spec.hyper, seed=3)
    check(spec, loss, reduction=reduction, hyper=spec.hyper, seed=4)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_scalar_sample_weight(spec):
    loss = spec.cls()
    (y_true, y_pred), _ = make_data(spec, seed=5)
    np.testing.assert_allclose(to_numpy(loss(y_true, y_pred, sample_weight=2.3)),
                               2.3 * to_numpy(loss(y_true, y_pred)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_call_hook(spec):
    """Keras's `call(y_true, y_pred)` gives the unweighted reduced loss."""
    loss = spec.cls(**spec.hyper)
    (y_true, y_pred), _ = make_data(spec, seed=6)
    np.testing.assert_allclose(to_numpy(loss.call(y_true, y_pred)),
                               to_numpy(loss(y_true, y_pred)), rtol=1e-6)


def _to_float64(x):
    """Arrays (in nested tuples) as float64 numpy; None stays None."""
    if x is None:
        return None
    if isinstance(x, tuple):
        return tuple(_to_float64(item) for item in x)
    return np.asarray(x, np.float64)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="float64 precision is "
                    "TensorFlow's only (see FLOAT64 in test_losses.py)")
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_dtype_float64_computes_in_float64(spec):
    """Keras's `dtype` argument: inputs are converted to it, as Keras's losses do."""
    (y_true, y_pred), arrays = make_data(spec, seed=9)
    # The float32 inputs, exactly, in float64; a float32 computation would differ at ~1e-7.
    y_true, y_pred = _to_float64((y_true, y_pred))
    loss = spec.cls(dtype="float64", **spec.hyper)
    got = loss(y_true, y_pred, sample_weight=SAMPLE_WEIGHT)
    want = spec.oracle(*arrays, oracle_weights(spec, SAMPLE_WEIGHT), DEFAULT, **spec.hyper)
    assert dtype_of(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_dtype_in_config(spec):
    loss = spec.cls(dtype="float64", **spec.hyper)
    assert spec.cls.from_config(loss.get_config()).dtype == "float64"
    assert spec.cls().get_config()["dtype"] is None


def test_generator_loss_ignores_y_true():
    loss = tl.ModifiedGeneratorLoss()
    gen = np.array([[0.5], [-1.0]], np.float32)
    np.testing.assert_allclose(to_numpy(loss(np.full((2, 1), 7.0, np.float32), gen)),
                               to_numpy(loss(None, gen)))


@pytest.mark.tensorflow_only  # tf.function graph mode beside XLA.
def test_keras_losses_inside_tf_function_and_xla():
    loss = tl.MinimaxDiscriminatorLoss(label_smoothing=0.1)
    real, gen = np.random.default_rng(7).normal(size=(2, BATCH, 1)).astype(np.float32)
    fn = lambda r, g, w: loss(r, g, sample_weight=w)
    eager = fn(real, gen, SAMPLE_WEIGHT)
    np.testing.assert_allclose(tf.function(fn)(real, gen, SAMPLE_WEIGHT), eager, rtol=1e-5)
    np.testing.assert_allclose(tf.function(fn, jit_compile=True)(real, gen, SAMPLE_WEIGHT),
                               eager, rtol=1e-5)


def _to_tensors(x):
    """Arrays (in nested tuples) as backend tensors; None stays None."""
    if x is None:
        return None
    if isinstance(x, tuple):
        return tuple(_to_tensors(item) for item in x)
    return tensor(x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_eager_and_compiled(spec, mode):
    """Every loss class, with a sample weight and its hyper-parameters, in each mode."""
    loss = spec.cls(**spec.hyper)
    (y_true, y_pred), arrays = make_data(spec, seed=7)
    y_true, y_pred = _to_tensors(y_true), _to_tensors(y_pred)
    fn = lambda true, pred, w: loss(true, pred, sample_weight=w)
    if y_true is None:  # Generator losses: no y_true to trace.
        fn = lambda pred, w, fn=fn: fn(None, pred, w)
        got = in_mode(mode, fn)(y_pred, tensor(SAMPLE_WEIGHT))
    else:
        got = in_mode(mode, fn)(y_true, y_pred, tensor(SAMPLE_WEIGHT))
    want = spec.oracle(*arrays, oracle_weights(spec, SAMPLE_WEIGHT), DEFAULT, **spec.hyper)
    np.testing.assert_allclose(to_numpy(got).astype(np.float64), want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Configs and serialization
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_get_config(spec):
    loss = spec.cls(reduction=R.SUM, name="my_loss", **spec.hyper)
    config = loss.get_config()
    assert config["reduction"] == R.SUM
    assert config["name"] == "my_loss"
    for key, value in spec.hyper.items():
        assert config[key] == value
    clone = spec.cls.from_config(config)
    assert clone.get_config() == config
    default_config = spec.cls().get_config()
    assert default_config["reduction"] == DEFAULT
    assert default_config["name"] == spec.functional


def test_default_hyperparameters_in_config():
    assert tl.MinimaxDiscriminatorLoss().get_config()["label_smoothing"] == 0.25
    assert tl.ModifiedDiscriminatorLoss().get_config()["label_smoothing"] == 0.25
    assert tl.MinimaxGeneratorLoss().get_config()["label_smoothing"] == 0.0
    assert tl.ModifiedGeneratorLoss().get_config()["label_smoothing"] == 0.0
    assert tl.ACGANDiscriminatorLoss().get_config()["label_smoothing"] == 0.0
    config = tl.WassersteinHingeDiscriminatorLoss().get_config()
    assert (config["real_hinge"], config["generated_hinge"]) == (1.0, 1.0)
    config = tl.LeastSquaresDiscriminatorLoss().get_config()
    assert (config["real_label"], config["fake_label"]) == (1.0, 0.0)
    assert tl.LeastSquaresGeneratorLoss().get_config()["real_label"] == 1.0


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_serialization_round_trip(spec):
    loss = spec.cls(reduction=R.MEAN, **spec.hyper)
    (y_true, y_pred), _ = make_data(spec, seed=8)
    for serialize, deserialize in (
            (keras.losses.serialize, keras.losses.deserialize),
            (keras.saving.serialize_keras_object, keras.saving.deserialize_keras_object)):
        restored = deserialize(serialize(loss))
        assert type(restored) is spec.cls
        assert restored.get_config() == loss.get_config()
        np.testing.assert_allclose(
            to_numpy(restored(y_true, y_pred, sample_weight=SAMPLE_WEIGHT)),
            to_numpy(loss(y_true, y_pred, sample_weight=SAMPLE_WEIGHT)), rtol=1e-6)


# ---------------------------------------------------------------------------
# tfgan_losses.get and LOSS_CLASSES
# ---------------------------------------------------------------------------


def test_loss_classes_table():
    assert set(tl.LOSS_CLASSES) == {s.functional for s in SPECS}
    for spec in SPECS:
        assert tl.LOSS_CLASSES[spec.functional] is spec.cls


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_get(spec):
    by_tfgan_name = tl.get(spec.functional)
    assert type(by_tfgan_name) is spec.cls
    assert by_tfgan_name.get_config() == spec.cls().get_config()
    assert type(tl.get(spec.cls.__name__)) is spec.cls
    assert type(tl.get(getattr(tl, spec.functional))) is spec.cls
    loss = spec.cls(reduction=R.SUM, **spec.hyper)
    assert tl.get(loss) is loss
    from_config = tl.get(keras.losses.serialize(loss))
    assert type(from_config) is spec.cls and from_config.get_config() == loss.get_config()


@pytest.mark.parametrize("identifier", [
    "foo", "cycle_consistency_loss", "wasserstein_gradient_penalty", "",
    tl.cycle_consistency_loss, lambda x: x, keras.losses.mean_squared_error])
def test_get_bad_identifier(identifier):
    with pytest.raises(ValueError):
        tl.get(identifier)


def test_get_config_of_a_non_gan_loss():
    """A serialized Keras loss that is no TF-GAN adversarial loss is rejected, not returned."""
    with pytest.raises(ValueError):
        tl.get(keras.losses.serialize(keras.losses.MeanSquaredError()))


def test_get_bad_name_message():
    with pytest.raises(ValueError, match="no_such_loss"):
        tl.get("no_such_loss")


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_requires_real_outputs(spec):
    assert spec.cls.requires_real_outputs is spec.requires_real
    assert spec.cls().requires_real_outputs is spec.requires_real


# ---------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind in ("two", "acgan_d")], ids=repr)
def test_shape_mismatch(spec):
    # Minimax and modified reduce their real and generated terms separately (as TF-GAN
    # does), so only their unreduced form needs matching batches.
    separately_reduced = spec.cls in (tl.MinimaxDiscriminatorLoss, tl.ModifiedDiscriminatorLoss)
    loss = spec.cls(reduction=R.NONE) if separately_reduced else spec.cls()
    (y_true, y_pred), _ = make_data(spec, seed=9)
    (_, y_pred_short), _ = make_data(spec, seed=9, batch=BATCH - 1)
    with pytest.raises(ValueError):
        if spec.kind == "two":
            loss(y_true, y_pred_short)
        else:
            loss(y_true, (y_pred[0], y_pred_short[1]))


def test_acgan_label_shape_mismatch():
    labels = np.eye(K, dtype=np.int32)[[0, 1, 2]]
    logits = np.zeros((4, K), np.float32)
    with pytest.raises(ValueError, match="one_hot_labels"):
        tl.ACGANGeneratorLoss()(labels, logits)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind == "two"], ids=repr)
def test_two_sided_loss_needs_y_true(spec):
    with pytest.raises(ValueError, match="y_true"):
        spec.cls()(None, np.zeros((3, 1), np.float32))


def test_acgan_discriminator_needs_pair():
    labels = np.eye(K, dtype=np.int32)[[0, 1]]
    with pytest.raises(ValueError, match="y_pred"):
        tl.ACGANDiscriminatorLoss()(labels, np.zeros((2, K), np.float32))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_invalid_reduction(spec):
    for reduction in ("sum_over_batch_size", "mean", None):
        with pytest.raises(ValueError, match="reduction"):
            spec.cls(reduction=reduction)


def test_invalid_label_smoothing():
    loss = tl.MinimaxDiscriminatorLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        loss(np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32))


# ---------------------------------------------------------------------------
# compile + fit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("jit_compile", [
    False,
    pytest.param(True, marks=pytest.mark.skipif(
        BACKEND == "torch", reason="jit_compile=True is torch.compile on PyTorch: too slow for "
                                   "unit tests"))])
def test_compile_fit_smoke(jit_compile):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=tl.WassersteinGeneratorLoss(),
                  jit_compile=jit_compile)
    x = np.random.default_rng(10).normal(size=(16, 3)).astype(np.float32)
    y = np.zeros((16, 1), np.float32)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    # evaluate reports -mean(D(x)) (equal batches: mean of batch means).
    value = model.evaluate(x, y, batch_size=8, verbose=0)
    np.testing.assert_allclose(value, -np.mean(to_numpy(model.predict(x, verbose=0))),
                               rtol=1e-4, atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    loss = tl.MinimaxGeneratorLoss(label_smoothing=0.1, reduction=R.SUM)
    model.compile(optimizer="sgd", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored.loss) is tl.MinimaxGeneratorLoss
    assert restored.loss.get_config() == loss.get_config()
