"""Tests for models.kernel_first_matmul: the float32 kernel-first input gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from convolution_checks import (assert_saves_and_loads, function_outputs_and_gradients,
                                keras_copy, op_types, penalty_kernel_gradient, random_inputs)

from models import KernelFirstDense, SpectralNormalization
from models.kernel_first_matmul import kernel_first_matmul, pays_off

# The smallest kernel and the largest batch the kernel-first path takes.
BATCH, FEATURES, UNITS = 128, 1024, 1024


def _random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_outputs_and_gradients_match_numpy(mode):
    inputs, kernel, output_gradient = _random((3, 5), 0), _random((5, 4), 1), _random((3, 4), 2)

    outputs, input_gradient, kernel_gradient = function_outputs_and_gradients(
        kernel_first_matmul, inputs, kernel, output_gradient, mode)

    np.testing.assert_allclose(outputs, inputs @ kernel, rtol=1e-12)
    np.testing.assert_allclose(input_gradient, output_gradient @ kernel.T, rtol=1e-12)
    np.testing.assert_allclose(kernel_gradient, inputs.T @ output_gradient, rtol=1e-12)


def test_second_order_gradients_match_tensorflow():
    inputs, kernel = tf.constant(_random((3, 5), 0)), tf.constant(_random((5, 4), 1))

    np.testing.assert_allclose(penalty_kernel_gradient(kernel_first_matmul, inputs, kernel),
                               penalty_kernel_gradient(tf.matmul, inputs, kernel), rtol=1e-12)


@pytest.mark.parametrize("dtype, rows, kernel_shape, expected", [
    ("float32", 128, (6272, 1024), True),     # The MNIST discriminator's hidden layer.
    ("float32", 128, (1024, 6272), True),     # The MNIST generator's second layer.
    ("float32", 128, (1024, 1024), True),     # The smallest kernel that takes it.
    ("float32", 256, (6272, 1024), True),     # The most rows that take it.
    ("float32", 257, (6272, 1024), False),
    ("float32", None, (6272, 1024), False),   # Unknown rows.
    ("float32", 128, (1024, 1023), False),    # Fewer than 2**20 weights.
    ("bfloat16", 128, (6272, 1024), False),
])
def test_pays_off_where_measured_faster(dtype, rows, kernel_shape, expected):
    assert pays_off(dtype, rows, kernel_shape) == expected


def test_pays_off_is_false_under_xla():
    decisions = []

    @tf.function(jit_compile=True)
    def trace(inputs):
        decisions.append(pays_off(inputs.dtype, 128, (6272, 1024)))
        return inputs

    trace(tf.zeros((1, 1)))
    assert decisions == [False]


def _dense(dtype=None):
    layer = KernelFirstDense(UNITS, activation="relu", dtype=dtype)
    layer.build((BATCH, FEATURES))
    return layer


def _input_gradient_function(layer):
    @tf.function
    def input_gradient(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.cast(layer(inputs), tf.float32) * tf.range(float(UNITS)))
        return tape.gradient(loss, inputs)

    return input_gradient


@pytest.mark.parametrize("dtype, batch, takes_it", [("float32", BATCH, True),
                                                    ("float32", 3 * BATCH, False),
                                                    ("mixed_bfloat16", BATCH, False)])
def test_dense_takes_the_kernel_first_gradient_where_it_pays_off(dtype, batch, takes_it):
    traced = op_types(_input_gradient_function(_dense(dtype)),
                      tf.constant(random_inputs((batch, FEATURES))))

    # Keras's input gradient is one MatMul; the kernel-first one transposes its result.
    assert ("Transpose" in traced) == takes_it


def test_dense_matches_keras():
    layer = _dense()
    reference = keras_copy(layer, keras.layers.Dense, (BATCH, FEATURES))
    inputs = tf.constant(random_inputs((BATCH, FEATURES)))

    np.testing.assert_allclose(layer(inputs), reference(inputs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_input_gradient_function(layer)(inputs),
                               _input_gradient_function(reference)(inputs), rtol=1e-4, atol=1e-3)


def test_spectrally_normalised_dense_takes_the_kernel_first_gradient():
    layer = SpectralNormalization(KernelFirstDense(UNITS, use_bias=False))
    layer.build((BATCH, FEATURES))

    inputs = tf.constant(random_inputs((BATCH, FEATURES)))
    traced = op_types(_input_gradient_function(layer), inputs)

    assert "Transpose" in traced


def test_dense_saves_and_loads(tmp_path):
    assert_saves_and_loads(KernelFirstDense(3, activation="tanh"), random_inputs((2, 4)),
                           tmp_path / "dense.keras")
