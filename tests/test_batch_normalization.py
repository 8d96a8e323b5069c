"""Tests for models.FusedBatchNormalization against numpy's batch-norm formulas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import FusedBatchNormalization

_EPSILON = 0.001
_MOMENTUM = 0.9


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=shape).astype(np.float32)


def _layer(shape, dtype=None, **kwargs):
    layer = FusedBatchNormalization(momentum=_MOMENTUM, epsilon=_EPSILON, dtype=dtype, **kwargs)
    layer.build(shape)
    rng = np.random.default_rng(1)
    channels = shape[kwargs.get("axis", -1)]
    if layer.scale:
        layer.gamma.assign(rng.normal(size=channels))
    if layer.center:
        layer.beta.assign(rng.normal(size=channels))
    return layer


def _numpy_training_call(inputs, gamma, beta):
    """Normalised outputs and the biased batch moments over all axes but the last."""
    axes = tuple(range(inputs.ndim - 1))
    mean, variance = inputs.mean(axes), inputs.var(axes)
    return gamma * (inputs - mean) / np.sqrt(variance + _EPSILON) + beta, mean, variance


def _run(layer, inputs, mode, training=True):
    if mode == "eager":
        return layer(inputs, training=training)
    call = tf.function(lambda x: layer(x, training=training), jit_compile=mode == "xla")
    return call(tf.constant(inputs))


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("shape", [(16, 5), (8, 3, 5), (4, 3, 3, 5)])
def test_training_call_normalises_with_batch_moments_and_updates_moving_statistics(shape, mode):
    layer = _layer(shape)
    inputs = _inputs(shape)
    expected, mean, variance = _numpy_training_call(inputs, layer.gamma.numpy(),
                                                    layer.beta.numpy())

    outputs = _run(layer, inputs, mode)

    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), (1 - _MOMENTUM) * mean, rtol=1e-5,
                               atol=1e-6)
    # Keras's biased batch variance, not the fused kernel's unbiased one.
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               _MOMENTUM + (1 - _MOMENTUM) * variance, rtol=1e-5)


@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_gradients_match_the_batch_norm_derivative(mode):
    shape = (6, 2, 2, 3)
    layer = _layer(shape)
    inputs, upstream = _inputs(shape), _inputs(shape, seed=2)
    gamma = layer.gamma.numpy()

    @tf.function(jit_compile=mode == "xla")
    def gradients(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * upstream)
        return tape.gradient(loss, [x, layer.gamma, layer.beta])

    input_gradient, gamma_gradient, beta_gradient = gradients(tf.constant(inputs))

    axes = (0, 1, 2)
    mean, variance = inputs.mean(axes), inputs.var(axes)
    normalised = (inputs - mean) / np.sqrt(variance + _EPSILON)
    expected_input = gamma / np.sqrt(variance + _EPSILON) * (
        upstream - upstream.mean(axes) - normalised * (upstream * normalised).mean(axes))
    np.testing.assert_allclose(input_gradient, expected_input, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(gamma_gradient, (upstream * normalised).sum(axes), rtol=1e-4)
    np.testing.assert_allclose(beta_gradient, upstream.sum(axes), rtol=1e-5)


def _training_graph_ops(layer, spec, jit_compile=False, training=True):
    call = tf.function(lambda x: layer(x, training=training), jit_compile=jit_compile)
    return call.get_concrete_function(spec).graph.get_operations()


def _training_op_types(layer, spec, jit_compile=False, training=True):
    return {op.type for op in _training_graph_ops(layer, spec, jit_compile, training)}


def test_training_graph_runs_the_fused_kernel_and_inference_does_not():
    layer = _layer((4, 5))
    spec = tf.TensorSpec((4, 5), tf.float32)

    assert "FusedBatchNormV3" in _training_op_types(layer, spec)
    assert "FusedBatchNormV3" not in _training_op_types(layer, spec, training=False)


@pytest.mark.parametrize("synchronized", [False, True])
def test_xla_traces_keras_computation_with_single_replica_moments(synchronized):
    shape = (4, 3, 3, 5)
    layer = _layer(shape, synchronized=synchronized)
    inputs = _inputs(shape)
    expected, mean, variance = _numpy_training_call(inputs, layer.gamma.numpy(),
                                                    layer.beta.numpy())

    ops = _training_graph_ops(layer, tf.TensorSpec(shape, tf.float32), jit_compile=True)
    outputs = _run(layer, inputs, "xla")

    assert "FusedBatchNormV3" not in {op.type for op in ops}
    # Keras's cross-replica moments count the elements with a tensor of ones named "count".
    assert not [op.name for op in ops if op.name.endswith("/count")]
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               _MOMENTUM + (1 - _MOMENTUM) * variance, rtol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_computes_statistics_in_float32(policy):
    shape = (32, 4)
    layer = _layer(shape, dtype=policy)
    inputs = _inputs(shape)
    expected, mean, variance = _numpy_training_call(inputs, layer.gamma.numpy(),
                                                    layer.beta.numpy())

    outputs = layer(inputs, training=True)

    assert outputs.dtype == keras.mixed_precision.Policy(policy).compute_dtype
    assert layer.moving_mean.dtype == "float32" and layer.gamma.dtype == "float32"
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), expected, atol=0.05)
    # Statistics of the rounded inputs, to float32 precision.
    rounded = tf.cast(tf.cast(inputs, outputs.dtype), tf.float32).numpy()
    np.testing.assert_allclose(layer.moving_mean.numpy(), (1 - _MOMENTUM) * rounded.mean(0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               _MOMENTUM + (1 - _MOMENTUM) * rounded.var(0), rtol=1e-4)


def test_inference_call_uses_moving_statistics_and_leaves_them():
    layer = _layer((8, 3))
    layer.moving_mean.assign([1.0, -1.0, 0.5])
    layer.moving_variance.assign([4.0, 2.0, 0.25])
    inputs = _inputs((8, 3))

    outputs = layer(inputs, training=False)

    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    expected = gamma * (inputs - [1.0, -1.0, 0.5]) / np.sqrt(np.array([4.0, 2.0, 0.25])
                                                              + _EPSILON) + beta
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [1.0, -1.0, 0.5])


@pytest.mark.parametrize("kwargs, shape", [
    ({"axis": 1}, (8, 3, 4)),            # Not the last axis.
    ({"scale": False, "center": False}, (8, 3)),
    ({}, (2, 2, 2, 2, 3)),               # Rank 5.
])
def test_other_configurations_match_numpy(kwargs, shape):
    layer = _layer(shape, **kwargs)
    axis = kwargs.get("axis", -1)
    inputs = _inputs(shape)
    gamma = layer.gamma.numpy() if layer.scale else 1.0
    beta = layer.beta.numpy() if layer.center else 0.0
    moved = np.moveaxis(inputs, axis, -1)
    expected, _, _ = _numpy_training_call(moved, gamma, beta)

    outputs = layer(inputs, training=True)

    np.testing.assert_allclose(outputs, np.moveaxis(expected, -1, axis), rtol=1e-4, atol=1e-4)


def test_epsilon_below_the_fused_bound_is_kept():
    layer = FusedBatchNormalization(epsilon=1e-8)
    inputs = np.array([[0.0], [2e-4]], np.float32)  # Batch variance 1e-8.

    outputs = layer(inputs, training=True)

    np.testing.assert_allclose(outputs, [[-1e-4 / np.sqrt(2e-8)], [1e-4 / np.sqrt(2e-8)]],
                               rtol=1e-3)


def test_float64_inputs_fall_back_to_the_keras_layer():
    layer = _layer((8, 3), dtype="float64")
    inputs = _inputs((8, 3)).astype(np.float64)
    expected, _, _ = _numpy_training_call(inputs, layer.gamma.numpy(), layer.beta.numpy())

    outputs = layer(inputs, training=True)

    assert outputs.dtype == tf.float64
    np.testing.assert_allclose(outputs, expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_variables_fall_back_to_the_keras_layer(dtype):
    """The fused op takes float32 scale and offset; a pure 16-bit layer keeps Keras's."""
    layer = _layer((8, 3), dtype=dtype)
    inputs = _inputs((8, 3))
    expected, _, _ = _numpy_training_call(inputs.astype(np.float64),
                                          np.asarray(layer.gamma.numpy(), np.float64),
                                          np.asarray(layer.beta.numpy(), np.float64))

    outputs = layer(inputs, training=True)

    assert outputs.dtype == dtype
    np.testing.assert_allclose(np.asarray(outputs, np.float32), expected, rtol=0.02, atol=0.02)


def test_saves_and_loads(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, FusedBatchNormalization(momentum=0.5, synchronized=True)(inputs))
    model(_inputs((8, 3)), training=True)
    path = str(tmp_path / "model.keras")
    model.save(path)

    loaded = keras.models.load_model(path)

    assert isinstance(loaded.layers[1], FusedBatchNormalization)
    assert loaded.layers[1].synchronized and loaded.layers[1].momentum == 0.5
    np.testing.assert_allclose(loaded(_inputs((4, 3), seed=3)), model(_inputs((4, 3), seed=3)),
                               rtol=1e-6)
