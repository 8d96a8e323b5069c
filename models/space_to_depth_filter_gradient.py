"""Strided 2-D convolutions whose filter gradients are matmuls of space-to-depth windows.

On this project's CPU, oneDNN computes the bfloat16 filter gradient of a
strided convolution with small outputs at under half the rate of its forward
pass: for the second convolution of TF-GAN's MNIST discriminator (4x4,
stride 2, 14x14x64 -> 7x7x128, batch 128), 5.3-9.8 ms against 2.4 ms
forward. The same gradient is a few plain matmuls. With stride `s`, tap
`t = s * p + a` splits into a block offset `p` and a phase `a`; after
padding the input as the convolution does, `space_to_depth(s)` gives
`X[b, i, j, (a, c, ci)] = x[b, s * i + a, s * j + c, ci]`, so that

    dW[s*p + a, s*q + c, ci, co] =
        sum over b, n, m of  X[b, n + p, m + q, (a, c, ci)] dY[b, n, m, co]

one matmul of `dY` with a contiguous window of `X` per block offset
`(p, q)` (`ceil(k / s)**2` of them): 3.6-5.0 ms for that layer.

`strided_conv2d` and `strided_conv2d_transpose` are `tf.nn.conv2d` and
`tf.nn.conv2d_transpose` with gradients that use these matmuls for the
kernel. Each one's input gradient is the other, so second-order gradients
(a gradient penalty) take the same path. `pays_off` says where it is faster.
"""

import math

import keras

from models.xla_context import in_xla_context


def space_to_depth_filter_gradient(inputs, output_gradient, kernel_size, stride, padding):
    """The kernel gradient of a strided convolution, as matmuls of space-to-depth windows.

    Args:
      inputs: The convolution's input, `[batch, height, width, in_channels]`,
        static sizes but the batch.
      output_gradient: The gradient of its output, `[batch, out_height,
        out_width, filters]`.
      kernel_size: `(kernel_height, kernel_width)`.
      stride: The stride of both spatial dimensions, at least 1.
      padding: `"same"` or `"valid"`.

    Returns:
      `[kernel_height, kernel_width, in_channels, filters]`, equal to
      `tf.compat.v1.nn.conv2d_backprop_filter` up to summation order.

    Example:

      kernel_gradient = space_to_depth_filter_gradient(images, output_gradient, (4, 4), 2, "same")
    """
    import tensorflow as tf

    channels, filters = inputs.shape[-1], output_gradient.shape[-1]
    output_size = output_gradient.shape[1:3]
    blocks_per_kernel = [-(-taps // stride) for taps in kernel_size]
    # Rows and columns of the padded input that the block windows read.
    paddings = []
    for size, out_size, taps, blocks in zip(inputs.shape[1:3], output_size, kernel_size,
                                            blocks_per_kernel):
        before = max((out_size - 1) * stride + taps - size, 0) // 2 if padding == "same" else 0
        paddings.append((before, stride * (out_size + blocks - 1) - before - size))
    (top, bottom), (left, right) = paddings
    # A negative "after" padding drops rows no output reads ("valid" padding).
    cropped = inputs[:, :inputs.shape[1] + min(bottom, 0), :inputs.shape[2] + min(right, 0)]
    padded = tf.pad(cropped, [[0, 0], [top, max(bottom, 0)], [left, max(right, 0)], [0, 0]])
    blocks = tf.nn.space_to_depth(padded, stride) if stride > 1 else padded
    flat_gradient = tf.reshape(output_gradient, [-1, filters])
    window_gradients = [
        tf.matmul(flat_gradient,
                  tf.reshape(blocks[:, p:p + output_size[0], q:q + output_size[1]],
                             [-1, stride * stride * channels]),
                  transpose_a=True)
        for p in range(blocks_per_kernel[0]) for q in range(blocks_per_kernel[1])]
    # [p, q, filters, (a, c, ci)] -> [p, a, q, c, ci, filters] -> taps s*p + a, s*q + c.
    kernel = tf.reshape(tf.stack(window_gradients),
                        [*blocks_per_kernel, filters, stride, stride, channels])
    kernel = tf.reshape(tf.transpose(kernel, [0, 3, 1, 4, 5, 2]),
                        [blocks_per_kernel[0] * stride, blocks_per_kernel[1] * stride,
                         channels, filters])
    return kernel[:kernel_size[0], :kernel_size[1]]


def strided_conv2d(inputs, kernel, stride, padding):
    """`tf.nn.conv2d` (NHWC) whose kernel gradient is `space_to_depth_filter_gradient`.

    Args:
      inputs: `[batch, height, width, in_channels]`, static sizes but the batch.
      kernel: `[kernel_height, kernel_width, in_channels, filters]`.
      stride: The stride of both spatial dimensions.
      padding: `"same"` or `"valid"`.

    Returns:
      `[batch, out_height, out_width, filters]`. The input gradient is
      `strided_conv2d_transpose`.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def convolution(inputs, kernel):
        def gradient(output_gradient):
            input_gradient = strided_conv2d_transpose(output_gradient, kernel, tf.shape(inputs),
                                                      stride, padding)
            return input_gradient, space_to_depth_filter_gradient(
                inputs, output_gradient, kernel.shape[:2], stride, padding)

        return tf.nn.conv2d(inputs, kernel, stride, padding.upper()), gradient

    # Variables are read here: a custom gradient must not read them itself.
    return convolution(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def strided_conv2d_transpose(inputs, kernel, output_shape, stride, padding):
    """`tf.nn.conv2d_transpose` (NHWC) whose kernel gradient is `space_to_depth_filter_gradient`.

    Args:
      inputs: `[batch, height, width, in_channels]`.
      kernel: `[kernel_height, kernel_width, out_channels, in_channels]` (the
        layout of `keras.layers.Conv2DTranspose` and of the convolution it
        transposes).
      output_shape: `[batch, out_height, out_width, out_channels]`, static
        but the batch.
      stride: The stride of both spatial dimensions.
      padding: `"same"` or `"valid"`.

    Returns:
      `[batch, out_height, out_width, out_channels]`. The input gradient is
      `strided_conv2d`.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def transposed_convolution(inputs, kernel):
        def gradient(output_gradient):
            return (strided_conv2d(output_gradient, kernel, stride, padding),
                    space_to_depth_filter_gradient(output_gradient, inputs, kernel.shape[:2],
                                                   stride, padding))

        outputs = tf.nn.conv2d_transpose(inputs, kernel, output_shape, stride, padding.upper())
        return outputs, gradient

    return transposed_convolution(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def pays_off(dtype, kernel_size, stride, in_channels, filters, output_size):
    """Whether the space-to-depth filter gradient is the faster one, for a traced call.

    Measured on this project's CPU (AVX512-BF16, 2 cores, batch 128): in
    bfloat16, outside XLA, for kernel sizes that are multiples of the stride
    and outputs of at most 10x10 positions, with `stride**2 * in_channels >=
    128` and `filters >= 64`: 0.41-0.96 of oneDNN's time (0.59 for the MNIST
    discriminator's 14x14x64 -> 7x7x128 layer). Larger outputs (28x28 inputs:
    1.2-1.6x), kernel sizes that are not multiples of the stride (3 or 5
    with stride 2: 1.0-1.1x), fewer channels (1.3-1.4x) and float32 (1.1-1.6x)
    are slower.

    Args:
      dtype: The dtype of the call's inputs.
      kernel_size: `(kernel_height, kernel_width)`.
      stride: The common stride of both spatial dimensions.
      in_channels, filters: The channels of the convolution (for a transposed
        convolution: of the convolution it transposes).
      output_size: The convolution's `(out_height, out_width)`.
    """
    return (keras.backend.standardize_dtype(dtype) == "bfloat16" and not in_xla_context()
            and stride > 1 and all(taps % stride == 0 for taps in kernel_size)
            and math.prod(output_size) <= 100
            and stride * stride * in_channels >= 128 and filters >= 64)
