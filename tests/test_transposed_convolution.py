"""Tests for models.SubPixelConv2DTranspose against numpy's transposed convolution."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import SubPixelConv2DTranspose


def _numpy_transposed_convolution(inputs, kernel, strides, padding, output_size,
                                  output_gradient):
    """Outputs, and the input and kernel gradients of `sum(outputs * output_gradient)`.

    By the definition: input pixel `i` adds `inputs[i] . kernel[t]` to output
    `i * stride + t - pad`, with `pad` the leading padding of the strided
    convolution being transposed.
    """
    (kernel_height, kernel_width, channels, _), (out_height, out_width) = kernel.shape, output_size
    pads = [0, 0]
    if padding == "same":
        pads = [max((size - 1) * stride + taps - out_size, 0) // 2 for size, stride, taps, out_size
                in zip(inputs.shape[1:3], strides, (kernel_height, kernel_width), output_size)]
    outputs = np.zeros((inputs.shape[0], out_height, out_width, channels))
    input_gradient, kernel_gradient = np.zeros(inputs.shape), np.zeros(kernel.shape)
    for i, j, t, u in itertools.product(range(inputs.shape[1]), range(inputs.shape[2]),
                                        range(kernel_height), range(kernel_width)):
        row, col = i * strides[0] + t - pads[0], j * strides[1] + u - pads[1]
        if 0 <= row < out_height and 0 <= col < out_width:
            outputs[:, row, col] += inputs[:, i, j] @ kernel[t, u].T
            input_gradient[:, i, j] += output_gradient[:, row, col] @ kernel[t, u]
            kernel_gradient[t, u] += output_gradient[:, row, col].T @ inputs[:, i, j]
    return outputs, input_gradient, kernel_gradient


def _layer(input_shape, filters=3, kernel_size=4, strides=2, padding="same", **kwargs):
    layer = SubPixelConv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                                    **kwargs)
    layer.build(input_shape)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.weights])
    return layer


def _outputs_and_gradients(layer, inputs, output_gradient, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def call(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
            loss = tf.reduce_sum(outputs * output_gradient)
        return [outputs] + tape.gradient(loss, [inputs, layer.kernel, layer.bias])

    return [t.numpy() for t in call(tf.constant(inputs))]


def _graph_op_types(layer, inputs, jit_compile):
    call = tf.function(lambda x: layer(x), jit_compile=jit_compile)
    graph = call.get_concrete_function(tf.constant(inputs)).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("strides", [1, 2, 3, (2, 1)])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
def test_xla_outputs_and_gradients_match_numpy(kernel_size, strides, padding):
    inputs = np.random.default_rng(0).normal(size=(2, 5, 4, 2)).astype(np.float32)
    layer = _layer(inputs.shape, kernel_size=kernel_size, strides=strides, padding=padding)
    output_shape = layer.compute_output_shape(inputs.shape)
    output_gradient = np.random.default_rng(2).normal(size=output_shape).astype(np.float32)
    kernel = layer.kernel.numpy()
    expected, input_gradient, kernel_gradient = _numpy_transposed_convolution(
        inputs.astype(np.float64), kernel, layer.strides, padding, output_shape[1:3],
        output_gradient)

    outputs, *gradients = _outputs_and_gradients(layer, inputs, output_gradient,
                                                 jit_compile=True)

    np.testing.assert_allclose(outputs, expected + layer.bias.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients[0], input_gradient, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients[1], kernel_gradient, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients[2], output_gradient.sum((0, 1, 2)), rtol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_xla_traces_sub_pixel_convolutions_and_graph_mode_keras_op(jit_compile):
    inputs = np.zeros((2, 7, 7, 4), np.float32)
    op_types = _graph_op_types(_layer(inputs.shape), inputs, jit_compile)

    # Keras's op is Conv2DBackpropInput; the sub-pixel path uses stride-1 Conv2D.
    assert ("Conv2DBackpropInput" in op_types) != jit_compile
    assert ("Conv2D" in op_types) == jit_compile


def test_eager_call_matches_the_xla_call():
    inputs = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
    layer = _layer(inputs.shape, activation="relu")
    output_gradient = np.ones(layer.compute_output_shape(inputs.shape), np.float32)

    eager = _outputs_and_gradients(layer, inputs, output_gradient, jit_compile=False)
    xla = _outputs_and_gradients(layer, inputs, output_gradient, jit_compile=True)

    for expected, actual in zip(eager, xla):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, input_shape", [
    ({"output_padding": 1}, (2, 7, 7, 4)),
    ({"dilation_rate": 2, "strides": 1}, (2, 7, 7, 4)),
    ({}, (2, None, 7, 4)),
])
def test_falls_back_to_keras_under_xla(kwargs, input_shape):
    layer = _layer((2, 7, 7, 4), **kwargs)
    call = tf.function(lambda x: layer(x), jit_compile=True)
    graph = call.get_concrete_function(tf.TensorSpec(input_shape)).graph

    assert "Conv2DBackpropInput" in {op.type for op in graph.get_operations()}
    inputs = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
    reference = keras.layers.Conv2DTranspose(3, 4, padding="same", **{"strides": 2, **kwargs})
    reference.build(inputs.shape)
    reference.set_weights(layer.get_weights())
    np.testing.assert_allclose(call(inputs), reference(inputs), rtol=1e-5, atol=1e-5)


def test_second_order_gradients_match_keras_under_xla():
    """The gradient penalty's pattern: differentiate a norm of an input gradient."""
    inputs = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 5, 2)).astype(np.float32))
    layer = _layer(inputs.shape, activation="tanh")
    reference = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh")
    reference.build(inputs.shape)
    reference.set_weights(layer.get_weights())

    def penalty_gradient(layer):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(inputs)
                outputs = layer(inputs)
            penalty = tf.reduce_sum(tf.square(inner.gradient(outputs, inputs)))
        return outer.gradient(penalty, layer.kernel)

    actual = tf.function(lambda: penalty_gradient(layer), jit_compile=True)()
    np.testing.assert_allclose(actual, penalty_gradient(reference), rtol=1e-4, atol=1e-5)


def test_mixed_bfloat16_under_xla_returns_bfloat16_close_to_float32():
    inputs = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
    layer = _layer(inputs.shape, dtype="mixed_bfloat16")
    expected = _layer(inputs.shape)(inputs)

    outputs = tf.function(lambda x: layer(x), jit_compile=True)(inputs)

    assert outputs.dtype == tf.bfloat16
    assert layer.kernel.dtype == "float32"
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), expected, rtol=0.05, atol=0.1)


def test_saves_and_loads(tmp_path):
    inputs = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
    model = keras.Sequential([keras.Input((7, 7, 4)),
                              SubPixelConv2DTranspose(3, 4, strides=2, padding="same")])
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)

    assert isinstance(loaded.layers[0], SubPixelConv2DTranspose)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_allclose(loaded(inputs), model(inputs))
