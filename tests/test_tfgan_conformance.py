"""TF-GAN's own test cases (`tensorflow_gan/python/losses/losses_impl_test.py`), ported.

The expected numbers are TF-GAN's. Differences from the original tests, by
design of this port: everything runs eagerly (TF-GAN's gradient penalty and
gradient-ratio combination needed TF1 graphs), and TF1 collections/summaries
are not checked (the arguments are accepted and ignored).

The module runs on every Keras backend; TF-GAN's placeholder and graph tests
(tf.function input signatures, TF1 variable scopes and sessions) are marked
`tensorflow_only`, and each has an eager-and-compiled counterpart
(`tests/backend_modes.py`).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import tfgan_losses as tl
from backend_modes import MODES, dtype_of, in_mode, tensor, to_numpy
from tfgan_losses import Reduction
from tfgan_losses import distributions as tld

pytestmark = pytest.mark.all_backends

REAL_NP = [-5.0, 1.4, 12.5, 2.7]
GEN_NP = [10.0, 4.4, -5.5, 3.6]
WEIGHT = 2.3


class Case:
    def __init__(self, name, g_fn, d_fn, expected_g, expected_d):
        self.name, self.g_fn, self.d_fn = name, g_fn, d_fn
        self.expected_g, self.expected_d = expected_g, expected_d

    def __repr__(self):
        return self.name


CASES = [
    Case("least_squares", tl.least_squares_generator_loss, tl.least_squares_discriminator_loss,
         17.69625, 41.73375),
    Case("modified", tl.modified_generator_loss, tl.modified_discriminator_loss,
         1.38582, 6.19637),
    Case("minimax", tl.minimax_generator_loss, tl.minimax_discriminator_loss,
         -4.82408, 6.19637),
    Case("wasserstein", tl.wasserstein_generator_loss, tl.wasserstein_discriminator_loss,
         -3.125, 0.225),
    Case("wasserstein_hinge", tl.wasserstein_hinge_generator_loss,
         tl.wasserstein_hinge_discriminator_loss, -3.125, 6.75),
]


def _real():
    return tensor(REAL_NP, "float32")


def _gen():
    return tensor(GEN_NP, "float32")


def _weight(as_tensor):
    """WEIGHT as a Python float, or as a float32 tensor."""
    return tensor(WEIGHT, "float32") if as_tensor else WEIGHT


# The `weight` parameter of the scalar-weight tests: a Python float or a tensor.
WEIGHT_KINDS = pytest.mark.parametrize("as_tensor", [False, True], ids=["python", "tensor"])


def assert_tfgan_value(value, expected, places=5):
    """TF-GAN's `assertAlmostEqual(expected, value, places)`, with room for float32 round-off.

    TF-GAN's expected values are rounded to `places` decimals, and that rounding alone can
    use up most of `round(value - expected, places) == 0`: the minimax and modified
    discriminator losses are 6.1963659, 4.1e-6 below TF-GAN's 6.19637, which left less
    than 2 float32 ulps (4.8e-7) of round-off before failing; 41.73375 (exact) left 1.3
    ulps (3.8e-6) either side. Allowed: half a unit in the constant's last decimal plus
    a float32 relative tolerance (1e-6, ~10 ulps); a wrong formula, label or weight moves
    these losses by far more.
    """
    np.testing.assert_allclose(float(value), expected, rtol=1e-6, atol=0.5 * 10.0**-places)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_generator_all_correct(case):
    loss = case.g_fn(_gen())
    assert dtype_of(loss) == "float32"
    assert_tfgan_value(loss, case.expected_g)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_discriminator_all_correct(case):
    loss = case.d_fn(_real(), _gen())
    assert dtype_of(loss) == "float32"
    assert_tfgan_value(loss, case.expected_d)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_loss_collection_and_summaries_arguments_accepted(case):
    assert_tfgan_value(case.g_fn(_gen(), loss_collection="collection", add_summaries=True),
                       case.expected_g)
    assert_tfgan_value(
        case.d_fn(_real(), _gen(), loss_collection="collection", add_summaries=True),
        case.expected_d)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_no_reduction(case):
    assert tuple(case.g_fn(_gen(), reduction=Reduction.NONE).shape) == (4,)
    assert tuple(case.d_fn(_real(), _gen(), reduction=Reduction.NONE).shape) == (4,)


@pytest.mark.tensorflow_only  # TF1's tf.compat.v1.losses.Reduction.
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_no_reduction_with_tf1_reduction(case):
    assert tuple(case.g_fn(_gen(), reduction=tf.compat.v1.losses.Reduction.NONE).shape) == (4,)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_patch(case):
    loss = case.g_fn(ops.reshape(_gen(), [2, 2]))
    assert dtype_of(loss) == "float32"
    assert_tfgan_value(loss, case.expected_g)
    loss = case.d_fn(ops.reshape(_real(), [2, 2]), ops.reshape(_gen(), [2, 2]))
    assert dtype_of(loss) == "float32"
    assert_tfgan_value(loss, case.expected_d)


@pytest.mark.tensorflow_only  # tf.function input_signature (TF-GAN's placeholders).
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_unknown_batch_size_with_weights(case):
    """TF-GAN's placeholder tests: shape (None, 4) inputs and ones_like weights."""
    spec = tf.TensorSpec([None, 4], tf.float32)

    @tf.function(input_signature=[spec])
    def g_loss(logits):
        return case.g_fn(logits, weights=tf.ones_like(logits))

    @tf.function(input_signature=[spec, spec])
    def d_loss(real, gen):
        return case.d_fn(real, gen, real_weights=tf.ones_like(real),
                         generated_weights=tf.ones_like(gen))

    assert_tfgan_value(g_loss(tf.constant([GEN_NP])), case.expected_g)
    assert_tfgan_value(d_loss(tf.constant([REAL_NP]), tf.constant([GEN_NP])), case.expected_d)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_eager_and_compiled_with_weights(case, mode):
    """test_unknown_batch_size_with_weights on every backend: [1, 4] inputs and ones_like
    weights, eagerly and compiled."""
    def g_loss(logits):
        return case.g_fn(logits, weights=ops.ones_like(logits))

    def d_loss(real, gen):
        return case.d_fn(real, gen, real_weights=ops.ones_like(real),
                         generated_weights=ops.ones_like(gen))

    assert_tfgan_value(in_mode(mode, g_loss)(tensor([GEN_NP], "float32")), case.expected_g)
    assert_tfgan_value(in_mode(mode, d_loss)(tensor([REAL_NP], "float32"),
                                             tensor([GEN_NP], "float32")), case.expected_d)


@pytest.mark.parametrize("case", CASES, ids=repr)
@WEIGHT_KINDS
def test_scalar_weight(case, as_tensor):
    weight = _weight(as_tensor)
    loss = case.g_fn(_gen(), weights=weight)
    assert_tfgan_value(loss, case.expected_g * WEIGHT, places=4)
    loss = case.d_fn(_real(), _gen(), real_weights=weight, generated_weights=weight)
    assert_tfgan_value(loss, case.expected_d * WEIGHT, places=4)


# ---------------------------------------------------------------------------
# Relativistic (expected values from the formula, in numpy)
# ---------------------------------------------------------------------------


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _relativistic_expected():
    real, gen = np.array(REAL_NP, np.float64), np.array(GEN_NP, np.float64)
    real_logits, gen_logits = real - gen.mean(), gen - real.mean()
    d = -_log_sigmoid(real_logits).mean() - _log_sigmoid(-gen_logits).mean()
    g = -_log_sigmoid(-real_logits).mean() - _log_sigmoid(gen_logits).mean()
    return g, d


def test_relativistic():
    expected_g, expected_d = _relativistic_expected()
    for shape in ([4], [2, 2]):
        real, gen = ops.reshape(_real(), shape), ops.reshape(_gen(), shape)
        g = tl.relativistic_generator_loss(real, gen)
        d = tl.relativistic_discriminator_loss(real, gen)
        assert dtype_of(g) == dtype_of(d) == "float32"
        assert round(float(g) - expected_g, 5) == 0
        assert round(float(d) - expected_d, 5) == 0
    assert tuple(tl.relativistic_generator_loss(_real(), _gen(), reduction=Reduction.NONE).shape) == (4,)
    np.testing.assert_allclose(
        to_numpy(tl.relativistic_discriminator_loss(_real(), _gen(), real_weights=WEIGHT,
                                                    generated_weights=WEIGHT)),
        expected_d * WEIGHT, atol=1e-4)


# ---------------------------------------------------------------------------
# ACGAN
# ---------------------------------------------------------------------------

ACGAN_GEN_NP = [[10.0, 4.4, -5.5, 3.6], [-4.0, 4.4, 5.2, 4.6], [1.1, 2.4, -3.5, 5.6],
                [1.1, 2.4, -3.5, 5.6]]
ACGAN_REAL_NP = [[-2.0, 0.4, 12.5, 2.7], [-1.2, 1.9, 12.3, 2.6], [-2.4, -1.7, 2.5, 2.7],
                 [1.1, 2.4, -3.5, 5.6]]
ONE_HOT_NP = [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0]]
ACGAN_G, ACGAN_D = 3.84974, 9.43950


def _acgan_kwargs(label_dtype="float32"):
    gen = tensor(ACGAN_GEN_NP, "float32")
    real = tensor(ACGAN_REAL_NP, "float32")
    labels = tensor(ONE_HOT_NP, label_dtype)
    g_kwargs = {"discriminator_gen_classification_logits": gen, "one_hot_labels": labels}
    d_kwargs = dict(g_kwargs, discriminator_real_classification_logits=real)
    return g_kwargs, d_kwargs


def test_acgan_all_correct():
    g_kwargs, d_kwargs = _acgan_kwargs()
    g, d = tl.acgan_generator_loss(**g_kwargs), tl.acgan_discriminator_loss(**d_kwargs)
    assert dtype_of(g) == dtype_of(d) == "float32"
    assert_tfgan_value(g, ACGAN_G)
    assert_tfgan_value(d, ACGAN_D)


def test_acgan_no_reduction():
    g_kwargs, d_kwargs = _acgan_kwargs()
    assert tuple(tl.acgan_generator_loss(reduction=Reduction.NONE, **g_kwargs).shape) == (4,)
    assert tuple(tl.acgan_discriminator_loss(reduction=Reduction.NONE, **d_kwargs).shape) == (4,)


def test_acgan_patch():
    g_kwargs, d_kwargs = _acgan_kwargs()
    g_patch = {k: ops.reshape(v, [2, 2, 4]) for k, v in g_kwargs.items()}
    d_patch = {k: ops.reshape(v, [2, 2, 4]) for k, v in d_kwargs.items()}
    assert_tfgan_value(tl.acgan_generator_loss(**g_patch), ACGAN_G)
    assert_tfgan_value(tl.acgan_discriminator_loss(**d_patch), ACGAN_D)


@pytest.mark.tensorflow_only  # tf.function input_signature (TF-GAN's placeholders).
def test_acgan_int32_labels_unknown_batch():
    """TF-GAN's placeholder tests: int32 labels, shape (None, 4); positional arguments."""
    spec = tf.TensorSpec([None, 4], tf.float32)
    label_spec = tf.TensorSpec([None, 4], tf.int32)
    g_loss = tf.function(tl.acgan_generator_loss, input_signature=[spec, label_spec])
    d_loss = tf.function(tl.acgan_discriminator_loss, input_signature=[spec, spec, label_spec])
    gen, real = tf.constant(ACGAN_GEN_NP), tf.constant(ACGAN_REAL_NP)
    labels = tf.constant(ONE_HOT_NP, tf.int32)
    assert_tfgan_value(g_loss(gen, labels), ACGAN_G)
    # TF-GAN passes (gen, real, labels) here; the unsmoothed loss is symmetric in them.
    assert_tfgan_value(d_loss(gen, real, labels), ACGAN_D)


def test_acgan_int32_labels():
    g_kwargs, d_kwargs = _acgan_kwargs("int32")
    assert_tfgan_value(tl.acgan_generator_loss(**g_kwargs), ACGAN_G)
    assert_tfgan_value(tl.acgan_discriminator_loss(**d_kwargs), ACGAN_D)


@pytest.mark.parametrize("mode", MODES)
def test_acgan_eager_and_compiled(mode):
    """test_acgan_int32_labels_unknown_batch on every backend: int32 labels, positional
    arguments, eagerly and compiled."""
    gen, real = tensor(ACGAN_GEN_NP, "float32"), tensor(ACGAN_REAL_NP, "float32")
    labels = tensor(ONE_HOT_NP, "int32")
    assert_tfgan_value(in_mode(mode, tl.acgan_generator_loss)(gen, labels), ACGAN_G)
    # As TF-GAN, (gen, real, labels); the unsmoothed loss is symmetric in them.
    assert_tfgan_value(in_mode(mode, tl.acgan_discriminator_loss)(gen, real, labels), ACGAN_D)


@WEIGHT_KINDS
def test_acgan_scalar_weight(as_tensor):
    weight = _weight(as_tensor)
    g_kwargs, d_kwargs = _acgan_kwargs()
    assert_tfgan_value(tl.acgan_generator_loss(weights=weight, **g_kwargs), ACGAN_G * WEIGHT,
                       places=4)
    d = tl.acgan_discriminator_loss(real_weights=weight, generated_weights=weight, **d_kwargs)
    assert_tfgan_value(d, ACGAN_D * WEIGHT, places=4)


# ---------------------------------------------------------------------------
# Gradient penalty
# ---------------------------------------------------------------------------

GP_GEN_NP = [[3.1, 2.3, -12.3, 32.1]]
GP_REAL_NP = [[-12.3, 23.2, 16.3, -43.2]]


def _keras_style_discriminator(inputs, _):
    return 2.0 * inputs


_TF1_SCOPE = {}


def _tf1_discriminator(inputs, _):
    return tf.compat.v1.get_variable("dummy_d", initializer=2.0) * inputs


def _tf1_scope():
    """TF-GAN's setUp: build the TF1 discriminator once in a variable scope (eagerly)."""
    if "scope" not in _TF1_SCOPE:
        with tf.compat.v1.variable_scope("fake_scope") as scope:
            _tf1_discriminator(0.0, 0.0)
        _TF1_SCOPE["scope"] = scope
    return _TF1_SCOPE["scope"]


def _gp_kwargs(style):
    kwargs = {
        "real_data": tensor(GP_REAL_NP, "float32"),
        "generated_data": tensor(GP_GEN_NP, "float32"),
        "generator_inputs": None,
    }
    if style == "tf1":
        kwargs.update(discriminator_fn=_tf1_discriminator, discriminator_scope=_tf1_scope())
    else:
        kwargs.update(discriminator_fn=_keras_style_discriminator, discriminator_scope=None)
    return kwargs


# TF-GAN's TF1 discriminator, in a tf.compat.v1 variable scope, exists on TensorFlow only.
STYLES = ["keras", pytest.param("tf1", marks=pytest.mark.tensorflow_only)]


@pytest.mark.parametrize("style", STYLES)
def test_gradient_penalty_all_correct_eagerly(style):
    loss = tl.wasserstein_gradient_penalty(**_gp_kwargs(style))
    assert dtype_of(loss) == "float32"
    assert round(float(loss) - 9.0, 6) == 0


@pytest.mark.parametrize("style", STYLES)
def test_gradient_penalty_no_reduction(style):
    loss = tl.wasserstein_gradient_penalty(reduction=Reduction.NONE, **_gp_kwargs(style))
    assert tuple(loss.shape) == (1,)


@pytest.mark.parametrize("style", STYLES)
@WEIGHT_KINDS
def test_gradient_penalty_scalar_weight(style, as_tensor):
    loss = tl.wasserstein_gradient_penalty(weights=_weight(as_tensor), **_gp_kwargs(style))
    assert round(float(loss) - 9.0 * WEIGHT, 3) == 0
    np.testing.assert_allclose(to_numpy(loss), 20.7, rtol=1e-6)


@pytest.mark.parametrize("style", STYLES)
def test_gradient_penalty_positional_python_lists(style):
    """TF-GAN's placeholder tests: positional arguments; here python lists as data."""
    kwargs = _gp_kwargs(style)
    fn, scope = kwargs["discriminator_fn"], kwargs["discriminator_scope"]
    loss = tl.wasserstein_gradient_penalty(GP_REAL_NP, GP_GEN_NP, None, fn, scope)
    assert dtype_of(loss) == "float32"
    assert round(float(loss) - 9.0, 5) == 0
    loss = tl.wasserstein_gradient_penalty(GP_REAL_NP, GP_GEN_NP, None, fn, scope, one_sided=True)
    assert round(float(loss) - 9.0, 5) == 0
    loss = tl.wasserstein_gradient_penalty(GP_REAL_NP, GP_GEN_NP, None, fn, scope, target=2.0)
    assert round(float(loss) - 1.0, 5) == 0


@pytest.mark.tensorflow_only  # TF1 graphs, variable scopes and sessions.
def test_gradient_penalty_in_tf1_graphs():
    """TF-GAN's tests build graphs: unseeded, the penalty builds and runs in one graph
    after another."""
    for _ in range(2):
        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("fake_scope") as scope:
                _tf1_discriminator(0.0, 0.0)
            loss = tl.wasserstein_gradient_penalty(
                tf.constant(GP_REAL_NP, tf.float32), tf.constant(GP_GEN_NP, tf.float32), None,
                _tf1_discriminator, scope)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                assert round(float(session.run(loss)) - 9.0, 5) == 0


@pytest.mark.tensorflow_only  # tf.function input_signature (TF-GAN's placeholders).
def test_gradient_penalty_unknown_shapes_in_tf_function():
    spec = tf.TensorSpec([None, None], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def penalty(real, gen):
        return tl.wasserstein_gradient_penalty(real, gen, None, _keras_style_discriminator, None)

    assert round(float(penalty(tf.constant(GP_REAL_NP), tf.constant(GP_GEN_NP))) - 9.0, 5) == 0


@pytest.mark.parametrize("mode", MODES)
def test_gradient_penalty_eager_and_compiled(mode):
    """test_gradient_penalty_unknown_shapes_in_tf_function on every backend, eagerly and
    compiled (seeded: under jax.jit Keras refuses unseeded random draws)."""
    def penalty(real, gen):
        return tl.wasserstein_gradient_penalty(real, gen, None, _keras_style_discriminator, None,
                                               seed=1)

    loss = in_mode(mode, penalty)(tensor(GP_REAL_NP, "float32"), tensor(GP_GEN_NP, "float32"))
    assert round(float(loss) - 9.0, 5) == 0


# ---------------------------------------------------------------------------
# Mutual information
# ---------------------------------------------------------------------------


def _mi_kwargs():
    return {
        "structured_generator_inputs": [1.0, 2.0],
        "predicted_distributions": [tld.Categorical(logits=[1.0, 2.0]),
                                    tld.Normal([0.0], [1.0])],
    }


def test_mutual_information_all_correct():
    loss = tl.mutual_information_penalty(**_mi_kwargs())
    assert dtype_of(loss) == "float32"
    assert_tfgan_value(loss, 1.61610)


def test_mutual_information_no_reduction():
    loss = tl.mutual_information_penalty(reduction=Reduction.NONE, **_mi_kwargs())
    assert tuple(loss.shape) == (2,)


@WEIGHT_KINDS
def test_mutual_information_scalar_weight(as_tensor):
    loss = tl.mutual_information_penalty(weights=_weight(as_tensor), **_mi_kwargs())
    assert_tfgan_value(loss, 1.61610 * WEIGHT, places=3)


# ---------------------------------------------------------------------------
# combine_adversarial_loss
# ---------------------------------------------------------------------------

GRADIENT_RATIO_EPSILON = 1e-6


def _expected_combined(use_weight_factor):
    if use_weight_factor:
        adv_coeff = 2.0
    else:
        adv_coeff = 2.0 / (3 * 0.5 + GRADIENT_RATIO_EPSILON)  # TF-GAN's expression.
    return 1.0 * 2 + adv_coeff * 1.0 * 3


@pytest.mark.tensorflow_only  # tf.function graph mode (tf.gradients of plain tensors).
@pytest.mark.parametrize("use_weight_factor", [True, False])
def test_combine_correct_in_tf_function(use_weight_factor):
    variable_list = [tf.Variable(1.0)]

    @tf.function
    def combined():
        main_loss = variable_list[0] * 2
        adversarial_loss = variable_list[0] * 3
        return tl.combine_adversarial_loss(
            main_loss, adversarial_loss,
            weight_factor=tf.constant(2.0) if use_weight_factor else None,
            gradient_ratio=None if use_weight_factor else tf.constant(0.5),
            gradient_ratio_epsilon=GRADIENT_RATIO_EPSILON, variables=variable_list)

    assert abs(float(combined()) - _expected_combined(use_weight_factor)) < 1e-5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("use_weight_factor", [True, False])
def test_combine_correct_eager_and_compiled(use_weight_factor, mode):
    """test_combine_correct_in_tf_function on every backend: loss callables and
    `variables`, eagerly and compiled."""
    v = keras.Variable(1.0)

    def combined(factor_or_ratio):
        return tl.combine_adversarial_loss(
            lambda: v * 2, lambda: v * 3,
            weight_factor=factor_or_ratio if use_weight_factor else None,
            gradient_ratio=None if use_weight_factor else factor_or_ratio,
            gradient_ratio_epsilon=GRADIENT_RATIO_EPSILON, variables=[v])

    got = in_mode(mode, combined)(tensor(2.0 if use_weight_factor else 0.5, "float32"))
    assert abs(float(got) - _expected_combined(use_weight_factor)) < 1e-5


@pytest.mark.parametrize("use_weight_factor", [True, False])
def test_combine_correct_with_callables_eagerly(use_weight_factor):
    v = keras.Variable(1.0)
    combined = tl.combine_adversarial_loss(
        lambda: v * 2, lambda: v * 3,
        weight_factor=2.0 if use_weight_factor else None,
        gradient_ratio=None if use_weight_factor else 0.5,
        gradient_ratio_epsilon=GRADIENT_RATIO_EPSILON, variables=[v])
    assert abs(float(combined) - _expected_combined(use_weight_factor)) < 1e-5


@pytest.mark.parametrize("use_weight_factor", [True, False])
def test_combine_no_weight_skips_adversarial_loss(use_weight_factor):
    combined = tl.combine_adversarial_loss(
        tensor(1.0, "float32"), tensor(1.0, "float32"),
        weight_factor=0.0 if use_weight_factor else None,
        gradient_ratio=None if use_weight_factor else 0.0,
        gradient_summaries=False)
    assert float(combined) == 1.0


def test_combine_incompatible_shapes():
    combined = tl.combine_adversarial_loss(ops.ones([5, 4, 3, 2]), ops.ones([5, 3, 2]),
                                           weight_factor=1.0)
    assert tuple(combined.shape) == (5,)
    np.testing.assert_allclose(to_numpy(combined), np.full(5, 2.0))
    with pytest.raises(ValueError):
        tl.combine_adversarial_loss(ops.ones([5, 4]), ops.ones([4, 4, 2]), weight_factor=1.0)


def _global_norm(arrays):
    """tf.linalg.global_norm's formula, sqrt(sum(x^2)), in numpy in the arrays' dtype."""
    with np.errstate(over="ignore"):
        return np.sqrt(sum(np.sum(np.square(a)) for a in arrays if a is not None))


def test_stable_global_norm_avoids_overflow():
    tensors = [ops.ones([4]), ops.ones([4, 4]) * 1e19, None]
    assert np.isinf(_global_norm([to_numpy(t) for t in tensors if t is not None]))
    assert not np.isinf(to_numpy(tl.numerically_stable_global_norm(tensors)))


def test_stable_global_norm_unchanged():
    rng = np.random.default_rng(1234)
    for _ in range(10):
        arrays = [rng.uniform(-10.0, 10.0, [3] * i).astype(np.float32) for i in range(6)]
        gnorm = _global_norm(arrays)
        got = float(tl.numerically_stable_global_norm([tensor(a) for a in arrays]))
        assert abs(float(gnorm) - got) < 1e-4 * max(1.0, float(gnorm))


# ---------------------------------------------------------------------------
# Cycle consistency
# ---------------------------------------------------------------------------


def test_cycle_consistency_correct_loss():
    loss = tl.cycle_consistency_loss(
        tensor([[1.0, 2, 3], [4, 5, 6]], "float32"), tensor([[7.0, 8, 9], [10, 11, 12]], "float32"),
        tensor([1.0, 9], "float32"), tensor([-2.0, 3], "float32"))
    assert abs(float(loss) - 5.25) < 1e-5
