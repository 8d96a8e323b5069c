"""What the convolution layers' tests share: numpy references and checks against Keras.

The numpy references are written from the definitions of 2-D convolutions
(NHWC); each returns the outputs and the input and kernel gradients of
`sum(outputs * output_gradient)`, accumulated pixel by pixel in float64.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf


def _leading_padding(sizes, kernel_sizes, strides, output_sizes, padding):
    """TensorFlow's "same" padding: half the total, the extra pixel after."""
    if padding == "valid":
        return [0, 0]
    return [max((out_size - 1) * stride + taps - size, 0) // 2
            for size, taps, stride, out_size in zip(sizes, kernel_sizes, strides, output_sizes)]


def convolution(inputs, kernel, strides, padding, output_size, output_gradient):
    """Output pixel `n` is `sum_t inputs[n * stride + t - pad] . kernel[t]`.

    `kernel` is `[kh, kw, in_channels, out_channels]`.
    """
    kernel_height, kernel_width, _, channels = kernel.shape
    out_height, out_width = output_size
    pads = _leading_padding(inputs.shape[1:3], (kernel_height, kernel_width), strides,
                            output_size, padding)
    outputs = np.zeros((inputs.shape[0], out_height, out_width, channels))
    input_gradient, kernel_gradient = np.zeros(inputs.shape), np.zeros(kernel.shape)
    for n, m, t, u in itertools.product(range(out_height), range(out_width),
                                        range(kernel_height), range(kernel_width)):
        row, col = n * strides[0] + t - pads[0], m * strides[1] + u - pads[1]
        if 0 <= row < inputs.shape[1] and 0 <= col < inputs.shape[2]:
            outputs[:, n, m] += inputs[:, row, col] @ kernel[t, u]
            input_gradient[:, row, col] += output_gradient[:, n, m] @ kernel[t, u].T
            kernel_gradient[t, u] += inputs[:, row, col].T @ output_gradient[:, n, m]
    return outputs, input_gradient, kernel_gradient


def transposed_convolution(inputs, kernel, strides, padding, output_size, output_gradient):
    """Input pixel `i` adds `inputs[i] . kernel[t]` to output `i * stride + t - pad`.

    `kernel` is `[kh, kw, out_channels, in_channels]` (Keras's
    `Conv2DTranspose` layout); `pad` is the leading padding of the strided
    convolution being transposed.
    """
    (kernel_height, kernel_width, channels, _), (out_height, out_width) = kernel.shape, output_size
    # The leading padding of the strided convolution this one transposes.
    pads = _leading_padding(output_size, (kernel_height, kernel_width), strides,
                            inputs.shape[1:3], padding)
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


def with_random_weights(layer, input_shape):
    """Builds `layer` for `input_shape` with standard-normal weights (fixed seed)."""
    layer.build(input_shape)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.weights])
    return layer


def random_inputs(shape):
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def op_types(call, *args):
    """The op types in the graph `call` traces (a `tf.function`) for `args`."""
    return {op.type for op in call.get_concrete_function(*args).graph.get_operations()}


def keras_copy(layer, keras_class, input_shape):
    """A `keras_class` layer with `layer`'s config and weights."""
    reference = keras_class.from_config(layer.get_config())
    reference.build(input_shape)
    reference.set_weights(layer.get_weights())
    return reference


def _penalty_gradients(model, inputs, mode):
    """Gradients of `sum((d tanh(model(inputs)) / d inputs)**2)` for the model's weights.

    `mode`: "eager", "graph" (`tf.function`) or "xla" (`jit_compile=True`).
    """
    def gradients():
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(inputs)
                outputs = tf.tanh(model(inputs))
            penalty = tf.reduce_sum(tf.square(inner.gradient(outputs, inputs)))
        return outer.gradient(penalty, model.trainable_weights)

    if mode != "eager":
        gradients = tf.function(gradients, jit_compile=mode == "xla")
    return [g.numpy() for g in gradients()]


def penalty_kernel_gradient(function, inputs, kernel):
    """d/d kernel of a gradient penalty on `sum(sin(function(inputs, kernel)))`, in numpy.

    The penalty is the squared input gradient plus the value, so the result
    holds first- and second-order terms.
    """
    with tf.GradientTape() as outer:
        outer.watch(kernel)
        with tf.GradientTape() as inner:
            inner.watch(inputs)
            value = tf.reduce_sum(tf.sin(function(inputs, kernel)))
        penalty = tf.reduce_sum(tf.square(inner.gradient(value, inputs))) + value
    return outer.gradient(penalty, kernel).numpy()


def assert_second_order_gradients_match(model, reference, inputs, mode="xla"):
    """A gradient penalty's second-order gradients in `mode` equal the reference's.

    `reference` has the same weights, in the same order, computed by Keras's
    layers in graph mode.
    """
    inputs = tf.constant(inputs)
    actual = _penalty_gradients(model, inputs, mode)
    expected = _penalty_gradients(reference, inputs, "graph")
    for actual_gradient, expected_gradient in zip(actual, expected):
        np.testing.assert_allclose(actual_gradient, expected_gradient, rtol=1e-4,
                                   atol=1e-5 * np.abs(expected_gradient).max())


def assert_mixed_bfloat16_close_to_float32(make_layer, inputs, jit_compile=False):
    """Under `mixed_bfloat16` the layer returns bfloat16 within bfloat16 rounding of float32."""
    layer = make_layer(inputs.shape, dtype="mixed_bfloat16")
    expected = make_layer(inputs.shape)(inputs)

    outputs = tf.function(layer, jit_compile=jit_compile)(inputs)

    assert outputs.dtype == tf.bfloat16
    assert layer.kernel.dtype == "float32"
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), expected, rtol=0.05, atol=0.1)


def assert_saves_and_loads(layer, inputs, path):
    """A one-layer model's `.keras` round trip keeps the layer class, config and outputs."""
    model = keras.Sequential([keras.Input(inputs.shape[1:]), layer])
    model.save(path)

    loaded = keras.saving.load_model(path)

    assert type(loaded.layers[0]) is type(layer)
    assert loaded.layers[0].get_config() == layer.get_config()
    np.testing.assert_allclose(loaded(inputs), model(inputs), rtol=1e-6)


def outputs_and_gradients(layer, inputs, output_gradient, mode):
    """Outputs, and the input, kernel and bias gradients of `sum(outputs * output_gradient)`.

    `mode`: "eager", "graph" (`tf.function`) or "xla" (`jit_compile=True`).
    """
    def call(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
            loss = tf.reduce_sum(outputs * output_gradient)
        return [outputs] + tape.gradient(loss, [inputs, layer.kernel, layer.bias])

    if mode != "eager":
        call = tf.function(call, jit_compile=mode == "xla")
    return [t.numpy() for t in call(tf.constant(inputs))]


def function_outputs_and_gradients(function, inputs, kernel, output_gradient, mode):
    """Outputs of `function(inputs, kernel)`, and its input and kernel gradients.

    The gradients are of `sum(outputs * output_gradient)`; `mode`: "eager" or
    "graph" (`tf.function`).
    """
    def call(inputs, kernel):
        with tf.GradientTape() as tape:
            tape.watch([inputs, kernel])
            outputs = function(inputs, kernel)
            loss = tf.reduce_sum(outputs * output_gradient)
        return [outputs, *tape.gradient(loss, [inputs, kernel])]

    if mode == "graph":
        call = tf.function(call)
    return [t.numpy() for t in call(tf.constant(inputs), tf.constant(kernel))]


def assert_matches_keras(layer, keras_class, inputs, mode, reference_mode="graph"):
    """Outputs and gradients in `mode` equal a Keras copy's in `reference_mode`."""
    reference = keras_copy(layer, keras_class, inputs.shape)
    output_gradient = np.random.default_rng(2).normal(
        size=layer.compute_output_shape(inputs.shape)).astype(np.float32)
    actual = outputs_and_gradients(layer, inputs, output_gradient, mode)
    expected = outputs_and_gradients(reference, inputs, output_gradient, reference_mode)
    for actual_value, expected_value in zip(actual, expected):
        np.testing.assert_allclose(actual_value, expected_value, rtol=1e-4, atol=1e-4)


def assert_matches_numpy(layer, inputs, numpy_reference, mode):
    """The layer's outputs and gradients in `mode` equal `numpy_reference`'s (with the bias)."""
    output_shape = layer.compute_output_shape(inputs.shape)
    output_gradient = np.random.default_rng(2).normal(size=output_shape).astype(np.float32)
    expected, input_gradient, kernel_gradient = numpy_reference(
        inputs.astype(np.float64), layer.kernel.numpy(), layer.strides, layer.padding,
        output_shape[1:3], output_gradient)

    outputs, *gradients = outputs_and_gradients(layer, inputs, output_gradient, mode)

    np.testing.assert_allclose(outputs, expected + layer.bias.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients[0], input_gradient, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients[1], kernel_gradient, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gradients[2], output_gradient.sum((0, 1, 2)), rtol=1e-5)
