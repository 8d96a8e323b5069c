"""Tests for models.space_to_depth_filter_gradient and the layers' bfloat16 path through it."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from convolution_checks import (convolution, function_outputs_and_gradients, keras_copy,
                                op_types, penalty_kernel_gradient, random_inputs,
                                transposed_convolution, with_random_weights)

from models import SpectralNormalization, SubPixelConv2D, SubPixelConv2DTranspose
from models.space_to_depth_filter_gradient import (pays_off, space_to_depth_filter_gradient,
                                                   strided_conv2d, strided_conv2d_transpose)

# The smallest sizes the layers' bfloat16 path takes: stride**2 * 32 = 128 in, 64 out.
STRIDED_INPUT_SHAPE, STRIDED_FILTERS = (2, 14, 14, 32), 64
TRANSPOSED_INPUT_SHAPE, TRANSPOSED_FILTERS = (2, 7, 7, 64), 32


def _output_size(size, kernel_size, stride, padding):
    return -(-size // stride) if padding == "same" else (size - kernel_size) // stride + 1


def _random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel_size, stride", [(1, 2), (2, 2), (3, 2), (4, 2), (5, 2),
                                                 (3, 3), (4, 3), (6, 3), (2, 1), (3, 1)])
@pytest.mark.parametrize("height, width", [(8, 8), (9, 7)])
def test_filter_gradient_matches_numpy(height, width, kernel_size, stride, padding):
    inputs, kernel = _random((2, height, width, 3), 0), _random((kernel_size, kernel_size, 3, 4), 1)
    output_size = [_output_size(size, kernel_size, stride, padding) for size in (height, width)]
    output_gradient = _random((2, *output_size, 4), 2)
    _, _, expected = convolution(inputs, kernel, (stride, stride), padding, output_size,
                                 output_gradient)

    actual = space_to_depth_filter_gradient(tf.constant(inputs), tf.constant(output_gradient),
                                            (kernel_size, kernel_size), stride, padding)

    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


def test_filter_gradient_takes_rectangular_kernels():
    inputs, kernel = _random((2, 9, 8, 3), 0), _random((4, 2, 3, 4), 1)
    output_gradient = _random((2, 5, 4, 4), 2)
    _, _, expected = convolution(inputs, kernel, (2, 2), "same", (5, 4), output_gradient)

    actual = space_to_depth_filter_gradient(tf.constant(inputs), tf.constant(output_gradient),
                                            (4, 2), 2, "same")

    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_strided_conv2d_matches_numpy(padding, mode):
    inputs, kernel = _random((2, 9, 8, 3), 0), _random((4, 4, 3, 5), 1)
    output_size = [_output_size(size, 4, 2, padding) for size in (9, 8)]
    output_gradient = _random((2, *output_size, 5), 2)
    expected = convolution(inputs, kernel, (2, 2), padding, output_size, output_gradient)

    actual = function_outputs_and_gradients(lambda x, k: strided_conv2d(x, k, 2, padding), inputs,
                                    kernel, output_gradient, mode)

    for actual_value, expected_value in zip(actual, expected):
        np.testing.assert_allclose(actual_value, expected_value, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("padding, output_size", [("same", (8, 10)), ("valid", (10, 12))])
def test_strided_conv2d_transpose_matches_numpy(padding, output_size, mode):
    inputs, kernel = _random((2, 4, 5, 3), 0), _random((4, 4, 5, 3), 1)
    output_gradient = _random((2, *output_size, 5), 2)
    expected = transposed_convolution(inputs, kernel, (2, 2), padding, output_size,
                                      output_gradient)

    actual = function_outputs_and_gradients(
        lambda x, k: strided_conv2d_transpose(x, k, [2, *output_size, 5], 2, padding), inputs,
        kernel, output_gradient, mode)

    for actual_value, expected_value in zip(actual, expected):
        np.testing.assert_allclose(actual_value, expected_value, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("transposed", [False, True])
def test_second_order_gradients_match_tensorflow(transposed):
    kernel = tf.constant(_random((4, 4, 3, 5), 1))
    if transposed:
        inputs, output_shape = tf.constant(_random((2, 4, 5, 5), 0)), [2, 8, 10, 3]
        actual = penalty_kernel_gradient(
            lambda x, k: strided_conv2d_transpose(x, k, output_shape, 2, "same"), inputs, kernel)
        expected = penalty_kernel_gradient(
            lambda x, k: tf.nn.conv2d_transpose(x, k, output_shape, 2, "SAME"), inputs, kernel)
    else:
        inputs = tf.constant(_random((2, 9, 8, 3), 0))
        actual = penalty_kernel_gradient(lambda x, k: strided_conv2d(x, k, 2, "same"),
                                          inputs, kernel)
        expected = penalty_kernel_gradient(lambda x, k: tf.nn.conv2d(x, k, 2, "SAME"),
                                            inputs, kernel)

    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "dtype, kernel_size, stride, in_channels, filters, output_size, expected", [
    ("bfloat16", (4, 4), 2, 64, 128, (7, 7), True),     # The MNIST discriminator's 2nd layer.
    ("bfloat16", (4, 4), 2, 32, 64, (10, 10), True),    # The smallest sizes that take it.
    ("float32", (4, 4), 2, 64, 128, (7, 7), False),
    ("bfloat16", (3, 3), 2, 64, 128, (7, 7), False),    # Kernel not a multiple of the stride.
    ("bfloat16", (4, 4), 2, 32, 64, (14, 14), False),   # More than 100 output positions.
    ("bfloat16", (4, 4), 2, 16, 64, (7, 7), False),     # stride**2 * 16 < 128.
    ("bfloat16", (4, 4), 2, 64, 32, (7, 7), False),     # Fewer than 64 filters.
    ("bfloat16", (1, 1), 1, 64, 128, (7, 7), False),    # Stride 1.
])
def test_pays_off_where_measured_faster(dtype, kernel_size, stride, in_channels, filters,
                                        output_size, expected):
    assert pays_off(dtype, kernel_size, stride, in_channels, filters, output_size) == expected


def test_pays_off_is_false_under_xla():
    decisions = []

    @tf.function(jit_compile=True)
    def trace(inputs):
        decisions.append(pays_off(inputs.dtype, (4, 4), 2, 64, 128, (7, 7)))
        return inputs

    trace(tf.zeros((1, 1), tf.bfloat16))
    assert decisions == [False]


def _strided(dtype=None):
    layer = SubPixelConv2D(STRIDED_FILTERS, 4, strides=2, padding="same", dtype=dtype)
    return with_random_weights(layer, STRIDED_INPUT_SHAPE)


def _transposed(dtype=None):
    layer = SubPixelConv2DTranspose(TRANSPOSED_FILTERS, 4, strides=2, padding="same",
                                    dtype=dtype)
    return with_random_weights(layer, TRANSPOSED_INPUT_SHAPE)


def _gradient_function(layer, input_shape):
    """A `tf.function` of the outputs and the input and kernel gradients of a fixed weighting."""
    weights = tf.constant(random_inputs(layer.compute_output_shape(input_shape)))

    @tf.function
    def outputs_and_gradients(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * weights)
        return [outputs, *tape.gradient(loss, [inputs, layer.kernel])]

    return outputs_and_gradients


@pytest.mark.parametrize("make_layer, input_shape", [(_strided, STRIDED_INPUT_SHAPE),
                                                     (_transposed, TRANSPOSED_INPUT_SHAPE)])
@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "float32"])
def test_layers_take_the_matmuls_in_bfloat16_only(make_layer, input_shape, dtype):
    traced = op_types(_gradient_function(make_layer(dtype), input_shape),
                      tf.constant(random_inputs(input_shape)))

    assert ("SpaceToDepth" in traced) == (dtype == "mixed_bfloat16")
    assert ("Conv2DBackpropFilter" in traced) == (dtype == "float32")


@pytest.mark.parametrize("make_layer, input_shape, keras_class", [
    (_strided, STRIDED_INPUT_SHAPE, keras.layers.Conv2D),
    (_transposed, TRANSPOSED_INPUT_SHAPE, keras.layers.Conv2DTranspose)])
def test_layers_in_bfloat16_match_keras_within_rounding(make_layer, input_shape, keras_class):
    layer = make_layer("mixed_bfloat16")
    reference = keras_copy(layer, keras_class, input_shape)
    inputs = tf.constant(random_inputs(input_shape))

    call, reference_call = (_gradient_function(model, input_shape) for model in (layer, reference))

    actual, expected = call(inputs), reference_call(inputs)

    assert "SpaceToDepth" in op_types(call, inputs)
    assert "SpaceToDepth" not in op_types(reference_call, inputs)
    for actual_value, expected_value in zip(actual, expected):
        actual_value, expected_value = (tf.cast(value, tf.float32).numpy()
                                        for value in (actual_value, expected_value))
        # Both round to bfloat16; compare on the scale of the largest value.
        np.testing.assert_allclose(actual_value, expected_value, rtol=0.02,
                                   atol=0.02 * np.abs(expected_value).max())


def test_spectrally_normalised_layer_takes_the_matmuls_for_its_penalty_gradients():
    layer = SpectralNormalization(_strided("mixed_bfloat16"), dtype="mixed_bfloat16")
    layer.build(STRIDED_INPUT_SHAPE)

    @tf.function
    def penalty_gradients(inputs):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(inputs)
                value = tf.reduce_sum(tf.sin(tf.cast(layer(inputs, training=True), tf.float32)))
            penalty = tf.reduce_sum(tf.square(inner.gradient(value, inputs)))
        return outer.gradient(penalty, layer.trainable_weights)

    inputs = tf.constant(random_inputs(STRIDED_INPUT_SHAPE))
    traced = op_types(penalty_gradients, inputs)

    assert "SpaceToDepth" in traced
    assert "Conv2DBackpropFilter" not in traced
    assert all(np.isfinite(g.numpy()).all() for g in penalty_gradients(inputs))
