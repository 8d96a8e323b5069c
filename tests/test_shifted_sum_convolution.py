"""Tests for models.ShiftedSumConv2D against numpy's convolution."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from convolution_checks import (assert_matches_keras, assert_matches_numpy,
                                assert_mixed_bfloat16_close_to_float32,
                                assert_saves_and_loads, assert_second_order_gradients_match,
                                convolution, keras_copy, op_types, random_inputs,
                                with_random_weights)

from models import ShiftedSumConv2D


def _layer(input_shape, filters=1, kernel_size=4, padding="same", **kwargs):
    layer = ShiftedSumConv2D(filters, kernel_size, padding=padding, **kwargs)
    return with_random_weights(layer, input_shape)


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel_size, filters",
                         [(1, 1), (2, 3), (3, 1), (4, 1), (5, 1), ((4, 2), 2)])
def test_matches_numpy(kernel_size, filters, padding, mode):
    taps = np.prod(np.broadcast_to(kernel_size, 2))
    inputs = random_inputs((2, 7, 6, filters * taps))
    layer = _layer(inputs.shape, filters, kernel_size, padding)

    assert "Conv2D" not in op_types(tf.function(layer), inputs)  # filters * taps == channels.
    assert_matches_numpy(layer, inputs, convolution, mode)


@pytest.mark.parametrize("channels, kwargs", [
    (15, {}),  # 16 taps > 15 input channels.
    (32, {"strides": 2}),
    (32, {"dilation_rate": 2}),
])
def test_keeps_keras_convolution_where_shifted_sums_do_not_apply(channels, kwargs):
    inputs = random_inputs((2, 8, 8, channels))
    layer = _layer(inputs.shape, **kwargs)

    assert "Conv2D" in op_types(tf.function(layer), inputs)
    assert_matches_keras(layer, keras.layers.Conv2D, inputs, "graph")


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_second_order_gradients_match_keras(mode):
    inputs = random_inputs((2, 6, 6, 16))
    layer = _layer(inputs.shape)
    assert_second_order_gradients_match(
        layer, keras_copy(layer, keras.layers.Conv2D, inputs.shape), inputs, mode)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_sums_shifted_slices_under_xla_and_by_depthwise_convolution_elsewhere(dtype, jit_compile):
    inputs = random_inputs((2, 8, 8, 16))
    layer = _layer(inputs.shape, dtype=dtype)
    traced = op_types(tf.function(layer, jit_compile=jit_compile), inputs)
    assert "Conv2D" not in traced
    assert ("DepthwiseConv2dNative" in traced) != jit_compile


@pytest.mark.parametrize("jit_compile", [False, True])
def test_mixed_bfloat16_returns_bfloat16_close_to_float32(jit_compile):
    assert_mixed_bfloat16_close_to_float32(_layer, random_inputs((2, 8, 8, 16)),
                                           jit_compile=jit_compile)


def test_saves_and_loads(tmp_path):
    assert_saves_and_loads(ShiftedSumConv2D(1, 4, padding="same"), random_inputs((2, 8, 8, 16)),
                           tmp_path / "model.keras")
