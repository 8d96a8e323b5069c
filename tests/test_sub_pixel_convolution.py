"""Tests for models.SubPixelConv2DTranspose and models.SubPixelConv2D against numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from convolution_checks import (assert_matches_keras, assert_matches_numpy,
                                assert_mixed_bfloat16_close_to_float32,
                                assert_saves_and_loads, assert_second_order_gradients_match,
                                convolution, keras_copy, op_types, random_inputs,
                                transposed_convolution, with_random_weights)

from models import SpectralNormalization, SubPixelConv2D, SubPixelConv2DTranspose


def _transposed(input_shape, filters=3, kernel_size=4, strides=2, padding="same", **kwargs):
    layer = SubPixelConv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                                    **kwargs)
    return with_random_weights(layer, input_shape)


def _strided(input_shape, filters=3, kernel_size=4, strides=2, padding="same", **kwargs):
    layer = SubPixelConv2D(filters, kernel_size, strides=strides, padding=padding, **kwargs)
    return with_random_weights(layer, input_shape)


def _input_gradient_op_types(layer, inputs, jit_compile):
    def input_gradient(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
        return tape.gradient(outputs, inputs)

    return op_types(tf.function(input_gradient, jit_compile=jit_compile), tf.constant(inputs))


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("make_layer, numpy_reference, input_shape, strides", [
    *[(_transposed, transposed_convolution, (2, 5, 4, 2), s) for s in (1, 2, 3, (2, 1))],
    *[(_strided, convolution, (2, 7, 6, 2), s) for s in (2, 3, (2, 1))],
])
def test_matches_numpy(make_layer, numpy_reference, input_shape, strides, kernel_size, padding,
                       mode):
    # 3 filters of the transposed layer, 2 input channels of the strided one: the sub-pixel
    # paths in every mode where strided (`writes_few_channels`), Keras's op at stride 1.
    inputs = random_inputs(input_shape)
    layer = make_layer(inputs.shape, kernel_size=kernel_size, strides=strides, padding=padding)
    assert_matches_numpy(layer, inputs, numpy_reference, mode)


@pytest.mark.parametrize("few_filters", [False, True])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_transposed_traces_sub_pixel_convolutions_under_xla_or_to_few_channels(jit_compile,
                                                                              few_filters):
    # 8 filters: 32 phase channels at stride 2, the most `writes_few_channels` takes.
    inputs = random_inputs((2, 7, 7, 4))
    layer = _transposed(inputs.shape, filters=8 if few_filters else 9)
    traced = op_types(tf.function(layer, jit_compile=jit_compile), inputs)

    # Keras's op is Conv2DBackpropInput; the sub-pixel path uses stride-1 Conv2D.
    sub_pixel = jit_compile or few_filters
    assert ("Conv2DBackpropInput" in traced) != sub_pixel
    assert ("Conv2D" in traced) == sub_pixel


def test_stride_1_transposed_to_few_channels_keeps_keras_outside_xla():
    inputs = random_inputs((2, 7, 7, 4))
    traced = op_types(tf.function(_transposed(inputs.shape, strides=1)), inputs)
    assert "Conv2DBackpropInput" in traced


@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_transposed_matches_keras(mode):
    inputs = random_inputs((2, 7, 7, 4))
    layer = _transposed(inputs.shape, activation="relu")
    assert_matches_keras(layer, keras.layers.Conv2DTranspose, inputs, mode)


# TensorFlow's CPU kernels without oneDNN (its default on CPUs without AVX-512 VNNI or
# BF16) have no dilated filter gradient: the dilated reference runs under XLA.
@pytest.mark.parametrize("kwargs, input_shape, reference_mode", [
    ({"output_padding": 1}, (2, 7, 7, 4), "graph"),
    ({"dilation_rate": 2, "strides": 1}, (2, 7, 7, 4), "xla"),
    ({}, (2, None, 7, 4), "graph"),
])
def test_transposed_falls_back_to_keras_under_xla(kwargs, input_shape, reference_mode):
    inputs = random_inputs((2, 7, 7, 4))
    layer = _transposed(inputs.shape, **kwargs)

    assert "Conv2DBackpropInput" in op_types(tf.function(layer, jit_compile=True),
                                             tf.TensorSpec(input_shape))
    assert_matches_keras(layer, keras.layers.Conv2DTranspose, inputs, "xla", reference_mode)


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_transposed_second_order_gradients_match_keras(mode):
    inputs = random_inputs((2, 5, 5, 2))
    layer = _transposed(inputs.shape)
    reference = keras_copy(layer, keras.layers.Conv2DTranspose, inputs.shape)
    assert_second_order_gradients_match(layer, reference, inputs, mode)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_transposed_mixed_bfloat16_returns_bfloat16_close_to_float32(jit_compile):
    assert_mixed_bfloat16_close_to_float32(_transposed, random_inputs((2, 7, 7, 4)),
                                           jit_compile=jit_compile)


def test_transposed_saves_and_loads(tmp_path):
    assert_saves_and_loads(SubPixelConv2DTranspose(3, 4, strides=2, padding="same"),
                           random_inputs((2, 7, 7, 4)), tmp_path / "model.keras")


@pytest.mark.parametrize("few_channels", [False, True])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_strided_input_gradient_is_sub_pixel_under_xla_or_from_few_channels(jit_compile,
                                                                            few_channels):
    inputs = random_inputs((2, 8, 8, 8 if few_channels else 9))
    traced = _input_gradient_op_types(_strided(inputs.shape), inputs, jit_compile)
    assert ("Conv2DBackpropInput" in traced) != (jit_compile or few_channels)


@pytest.mark.parametrize("kwargs", [{"strides": 1}, {"dilation_rate": 2, "strides": 1},
                                    {"groups": 2, "filters": 4}])
def test_strided_keeps_keras_gradients_where_sub_pixel_does_not_apply(kwargs):
    inputs = random_inputs((2, 8, 8, 2))
    layer = _strided(inputs.shape, **kwargs)

    if "groups" not in kwargs:  # Keras traces grouped convolutions in a nested function.
        assert "Conv2DBackpropInput" in _input_gradient_op_types(layer, inputs, jit_compile=True)
    assert_matches_keras(layer, keras.layers.Conv2D, inputs, "xla")


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_spectrally_normalised_strided_second_order_gradients_match_keras(mode):
    """The discriminators' convolutions, differentiated twice as in WGAN-GP."""
    inputs = random_inputs((2, 8, 8, 2))
    layer = SpectralNormalization(_strided(inputs.shape))
    reference = SpectralNormalization(keras_copy(layer.layer, keras.layers.Conv2D, inputs.shape))
    layer.build(inputs.shape)
    reference.build(inputs.shape)
    reference.set_weights(layer.get_weights())  # The power iteration's vector too.
    assert_second_order_gradients_match(layer, reference, inputs, mode)


def test_strided_saves_and_loads(tmp_path):
    assert_saves_and_loads(SubPixelConv2D(3, 4, strides=2, padding="same"),
                           random_inputs((2, 8, 8, 4)), tmp_path / "model.keras")
