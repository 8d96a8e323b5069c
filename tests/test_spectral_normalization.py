"""Tests for tfgan_losses.features.SpectralNormalization against numpy: TF-GAN's
re-parametrised kernel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_losses.features import SpectralNormalization
from power_iteration import power_iteration


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _dense_wrapper(units=5, input_size=7, **dense_kwargs):
    wrapper = SpectralNormalization(keras.layers.Dense(units, **dense_kwargs))
    wrapper.build((None, input_size))
    if wrapper.layer.use_bias:
        wrapper.layer.bias.assign(np.random.default_rng(1).normal(size=units).astype(np.float32))
    return wrapper


@pytest.mark.parametrize("training", [True, False])
def test_dense_computes_with_the_kernel_over_one_power_iteration_estimate(training):
    wrapper = _dense_wrapper(activation="tanh")
    kernel, bias = wrapper.layer.kernel.numpy(), wrapper.layer.bias.numpy()
    u = wrapper.vector_u.numpy()
    sigma, new_u = power_iteration(kernel, u)
    inputs = _inputs((3, 7))

    outputs = wrapper(inputs, training=training)

    np.testing.assert_allclose(outputs, np.tanh(inputs @ (kernel / sigma) + bias), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(wrapper.vector_u.numpy(), new_u if training else u, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(wrapper.layer.kernel.numpy(), kernel)  # Never assigned.


@pytest.mark.parametrize("batch", [1, 2, 8])
def test_dense_in_a_tf_function_computes_with_the_normalised_kernel(batch):
    wrapper = _dense_wrapper()
    kernel, bias = wrapper.layer.kernel.numpy(), wrapper.layer.bias.numpy()
    sigma, _ = power_iteration(kernel, wrapper.vector_u.numpy())
    inputs = _inputs((batch, 7))

    outputs = tf.function(lambda x: wrapper(x, training=True))(inputs)

    np.testing.assert_allclose(outputs, inputs @ (kernel / sigma) + bias, rtol=1e-5, atol=1e-6)


def test_conv2d_computes_with_the_normalised_kernel():
    wrapper = SpectralNormalization(keras.layers.Conv2D(3, 4, strides=2, padding="same"))
    inputs = _inputs((2, 8, 8, 2))
    wrapper.build(inputs.shape)
    kernel, bias = wrapper.layer.kernel.numpy(), wrapper.layer.bias.numpy()
    sigma, _ = power_iteration(kernel.reshape(-1, 3), wrapper.vector_u.numpy())

    outputs = wrapper(inputs, training=True)

    expected = tf.nn.conv2d(inputs, kernel / sigma, strides=2, padding="SAME") + bias
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)


def test_training_calls_converge_to_the_largest_singular_value():
    wrapper = _dense_wrapper(units=6, input_size=9)
    for _ in range(100):
        sigma = float(wrapper.spectral_norm(training=True))
    np.testing.assert_allclose(sigma, np.linalg.norm(wrapper.layer.kernel.numpy(), ord=2),
                               rtol=1e-4)


@pytest.mark.parametrize("batch", [3, 8])
def test_gradient_flows_through_sigma(batch):
    """With u converged, d/dW of a loss of x @ W / sigma(W) is the derivative of the
    exact function (sigma from the SVD), checked by central differences in float64."""
    wrapper = _dense_wrapper(units=4, input_size=6, use_bias=False)
    for _ in range(200):
        wrapper.spectral_norm(training=True)
    inputs, weights = _inputs((batch, 6)), _inputs((batch, 4), seed=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(wrapper(inputs) * weights)
    gradient = tape.gradient(loss, wrapper.layer.kernel).numpy()

    kernel = wrapper.layer.kernel.numpy().astype(np.float64)

    def exact_loss(matrix):
        return np.sum(inputs @ (matrix / np.linalg.norm(matrix, ord=2)) * weights)

    numeric = np.zeros_like(kernel)
    for index in np.ndindex(kernel.shape):
        step = np.zeros_like(kernel)
        step[index] = 1e-6
        numeric[index] = (exact_loss(kernel + step) - exact_loss(kernel - step)) / 2e-6
    np.testing.assert_allclose(gradient, numeric, rtol=1e-3, atol=1e-4)
    # Without the sigma term the gradient would be inputs^T weights / sigma.
    assert not np.allclose(gradient, inputs.T @ weights / np.linalg.norm(kernel, ord=2),
                           atol=1e-3)


def _kernel_gradient_with_decay(inputs, output_weights, kernel, u, l2):
    """numpy d/dW of sum(x @ W / sigma * w) + l2 * |W / sigma|^2, sigma = u'^T W v with
    u', v (one power-iteration round from u) held constant."""
    v = u @ kernel
    v /= np.linalg.norm(v)
    new_u = kernel @ v.T
    new_u /= np.linalg.norm(new_u)
    sigma = (new_u.T @ kernel @ v.T).item()
    linear = inputs @ kernel
    dsigma = (-np.sum(output_weights * linear) / sigma**2
              - 2 * l2 * np.sum(kernel**2) / sigma**3)
    return inputs.T @ output_weights / sigma + 2 * l2 * kernel / sigma**2 + dsigma * new_u @ v


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_kernel_gradient_with_weight_decay_matches_numpy(mode):
    """The gradient of a loss of the outputs plus the L2 term at W / sigma, sigma's
    part included, equals the numpy gradient in every execution mode."""
    wrapper = _dense_wrapper(use_bias=False, kernel_regularizer=keras.regularizers.L2(0.5))
    kernel, u = wrapper.layer.kernel.numpy(), wrapper.vector_u.numpy()
    inputs, output_weights = _inputs((3, 7)), _inputs((3, 5), seed=2)

    def kernel_gradient(inputs):
        with tf.GradientTape() as tape:
            outputs = wrapper(inputs, training=True)
            loss = tf.reduce_sum(outputs * output_weights) + tf.add_n(wrapper.losses)
        return tape.gradient(loss, wrapper.layer.kernel)

    if mode != "eager":
        kernel_gradient = tf.function(kernel_gradient, jit_compile=mode == "xla")
    np.testing.assert_allclose(
        kernel_gradient(inputs),
        _kernel_gradient_with_decay(inputs.astype(np.float64), output_weights, kernel, u,
                                        l2=0.5),
        rtol=1e-4, atol=1e-5)


def test_dense_on_rank_3_inputs_equals_the_flattened_computation():
    wrapper = _dense_wrapper(units=5, input_size=7)
    inputs, output_weights = _inputs((2, 3, 7)), _inputs((2, 3, 5), seed=2)
    u = wrapper.vector_u.numpy()

    def outputs_and_gradients(inputs, output_weights):
        wrapper.vector_u.assign(u)
        inputs = tf.constant(inputs)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = wrapper(inputs, training=True)
            loss = tf.reduce_sum(outputs * output_weights)
        return [outputs, *tape.gradient(loss, [inputs, wrapper.layer.kernel])]

    flat = outputs_and_gradients(inputs.reshape(6, 7), output_weights.reshape(6, 5))
    ranked = outputs_and_gradients(inputs, output_weights)
    assert ranked[0].shape == (2, 3, 5)
    for actual, expected in zip(ranked, flat):
        np.testing.assert_allclose(np.reshape(actual, np.shape(expected)), expected, rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("batch", [3, 8])
@pytest.mark.parametrize("regularizer, penalty", [
    (keras.regularizers.L2(0.5), lambda kernel: 0.5 * np.sum(kernel**2)),
    (keras.regularizers.L1(0.3), lambda kernel: 0.3 * np.sum(np.abs(kernel))),
])
def test_kernel_regularizer_applies_to_the_normalised_kernel_once_per_call(
        batch, regularizer, penalty):
    """TF-GAN's layers regularize what its custom getter returns, W / sigma, and add
    the term once per call (each call builds its own normalised kernel)."""
    wrapper = _dense_wrapper(units=4, input_size=6, kernel_regularizer=regularizer)
    kernel = wrapper.layer.kernel.numpy()
    for call in range(2):
        sigma, _ = power_iteration(kernel, wrapper.vector_u.numpy())
        wrapper(_inputs((batch, 6)), training=True)
        # Keras keeps the losses of the last call: one term, at this call's sigma.
        assert len(wrapper.losses) == 1
        np.testing.assert_allclose(float(wrapper.losses[0]), penalty(kernel / sigma),
                                   rtol=1e-5, atol=1e-7)
    assert wrapper.layer.kernel.regularizer is None  # Not also applied to W itself.


def test_normalised_kernel_decay_is_orthogonal_to_the_kernel():
    """sigma(W / c) = sigma(W) / c, so L2(W / sigma) is scale-invariant: its gradient
    (through sigma as well) has no component along W and does not shrink the kernel."""
    wrapper = SpectralNormalization(keras.layers.Conv2D(
        3, 4, strides=2, padding="same", kernel_regularizer=keras.regularizers.L2(0.5)))
    inputs = _inputs((2, 8, 8, 2))
    wrapper.build(inputs.shape)
    with tf.GradientTape() as tape:
        wrapper(inputs, training=False)
        penalty = wrapper.losses[0]
    gradient = tape.gradient(penalty, wrapper.layer.kernel).numpy()
    kernel = wrapper.layer.kernel.numpy()
    assert np.linalg.norm(gradient) > 1e-3
    np.testing.assert_allclose(
        np.sum(gradient * kernel) / (np.linalg.norm(gradient) * np.linalg.norm(kernel)), 0.0,
        atol=1e-5)
    # Plain L2 on W would pull straight towards 0: gradient = 2 * 0.5 * W.
    assert not np.allclose(gradient, kernel, atol=1e-3)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_graph_and_xla_match_eager(jit_compile):
    eager, compiled = _dense_wrapper(), _dense_wrapper()
    compiled.set_weights(eager.get_weights())
    inputs = _inputs((3, 7))
    step = tf.function(lambda x: compiled(x, training=True), jit_compile=jit_compile)
    for _ in range(3):
        np.testing.assert_allclose(step(inputs), eager(inputs, training=True), rtol=1e-5,
                                   atol=1e-6)
    # atol: entries of u can be near 0, where a relative tolerance alone fails on
    # round-off (an element of 9e-3 differed by 1e-7 on an Intel Xeon).
    np.testing.assert_allclose(compiled.vector_u.numpy(), eager.vector_u.numpy(), rtol=1e-5,
                               atol=1e-6)


def _model_built_under_mixed_bfloat16(**dense_kwargs):
    """A model of `SpectralNormalization(Dense(5, **dense_kwargs))` on 7 inputs, built under
    the mixed_bfloat16 policy."""
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        inputs = keras.Input((7,))
        wrapper = SpectralNormalization(keras.layers.Dense(5, **dense_kwargs))
        return keras.Model(inputs, wrapper(inputs)), wrapper
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_mixed_precision_keeps_float32_kernel_and_sigma():
    model, wrapper = _model_built_under_mixed_bfloat16()
    kernel, bias = wrapper.layer.kernel.numpy(), wrapper.layer.bias.numpy()
    sigma, new_u = power_iteration(kernel, wrapper.vector_u.numpy())

    outputs = model(_inputs((3, 7)), training=True)

    assert outputs.dtype == tf.bfloat16
    assert wrapper.layer.kernel.dtype == "float32" and wrapper.vector_u.dtype == "float32"
    np.testing.assert_array_equal(wrapper.layer.kernel.numpy(), kernel)  # Not rounded.
    np.testing.assert_allclose(wrapper.vector_u.numpy(), new_u, rtol=1e-5, atol=1e-6)  # Not bf16.
    expected = _inputs((3, 7)) @ (kernel / sigma) + bias
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), expected, rtol=0.03, atol=0.03)


def test_a_float32_wrapped_layer_computes_in_float32_under_a_mixed_policy():
    """As if the layer were called directly: its own policy decides, not the global one."""
    model, wrapper = _model_built_under_mixed_bfloat16(dtype="float32")
    kernel, bias = wrapper.layer.kernel.numpy(), wrapper.layer.bias.numpy()
    sigma, _ = power_iteration(kernel, wrapper.vector_u.numpy())

    outputs = model(_inputs((3, 7)), training=True)

    assert outputs.dtype == tf.float32
    np.testing.assert_allclose(outputs, _inputs((3, 7)) @ (kernel / sigma) + bias, rtol=1e-5,
                               atol=1e-6)


def test_saves_and_loads(tmp_path):
    inputs = keras.Input((7,))
    dense = keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(0.5))
    model = keras.Model(inputs, SpectralNormalization(dense)(inputs))
    model(_inputs((2, 7)), training=True)  # Moves u away from its initial value.
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(_inputs((2, 7))), model(_inputs((2, 7))), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_array_equal(loaded.layers[1].vector_u.numpy(),
                                  model.layers[1].vector_u.numpy())
    # The loaded wrapper takes the regularizer over again: one term, at W / sigma.
    assert loaded.layers[1].layer.kernel.regularizer is None
    np.testing.assert_allclose([float(loss) for loss in loaded.losses],
                               [float(loss) for loss in model.losses], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("layer", [keras.layers.Conv2DTranspose(2, 3), keras.layers.ReLU()])
def test_rejects_layers_without_a_plain_linear_kernel(layer):
    with pytest.raises(TypeError, match="Dense or Conv1D/2D/3D"):
        SpectralNormalization(layer)


def test_rejects_causal_padding():
    with pytest.raises(ValueError, match="causal"):
        SpectralNormalization(keras.layers.Conv1D(4, 3, padding="causal"))
