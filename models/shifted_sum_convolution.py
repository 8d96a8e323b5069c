"""A stride-1 2-D convolution with few filters, as one matmul and a sum of shifted slices.

A convolution to a few output channels, such as the last layer of TF-GAN's
MNIST generator (4x4, 32 channels to 1 at 28x28), is a poor fit for
convolution kernels: at batch 128 its 0.1 GFLOP take about 4 ms in float32
and 2.4 ms in bfloat16 with oneDNN, 3.6 and 5.2 ms under XLA. It can be
computed instead as

    z[p, t] = x[p] . kernel[t]                   (one matmul: every tap at once)
    y[n]    = sum over taps t of  z[n + t - pad, t]  (shifted slices, summed)

`shifted_sum_conv2d` sums the shifted slices in one of two ways, whichever
is faster where it runs (batch 128, forward / forward and backward):

* Outside XLA, as a depthwise convolution of `z` whose filter for tap `t`
  is one at `t` and zero elsewhere, followed by a sum over the taps;
  TensorFlow differentiates it. float32: 1.6 / 3.4 ms; bfloat16: 1.4 /
  3.8 ms (oneDNN's convolution: 4.3 / 10.0 and 2.4 / 6.6 ms).
* Under XLA, as slices of `z` added up, with the gradients written out as
  the same matmuls against a stack of shifted copies of the output
  gradient. float32: 1.0 / 4.6 ms; bfloat16: 2.2 / 6.9 ms (XLA's
  convolution: 3.6 / 11.7 and 5.2 / 13.8 ms; XLA's depthwise convolution
  takes 61 ms).

`ShiftedSumConv2D` uses it when its taps times filters are at most its input
channels, so that `z` is no larger than the input.
"""

import keras
from keras import layers

from models.xla_context import in_xla_context


def _axis_padding(size, kernel_size, padding):
    """(pad_before, output_size) of a stride-1 convolution along one axis."""
    if padding == "same":
        return (kernel_size - 1) // 2, size
    return 0, size - kernel_size + 1


def shifted_sum_conv2d(inputs, kernel, padding):
    """`tf.nn.conv2d` (stride 1, NHWC, no dilation) as one matmul and shifted sums.

    Args:
      inputs: `[batch, height, width, in_channels]`, static spatial sizes.
      kernel: `[kernel_height, kernel_width, in_channels, filters]`.
      padding: `"same"` or `"valid"`.

    Returns:
      `[batch, out_height, out_width, filters]`, equal to `tf.nn.conv2d` up to
      summation order; under a 16-bit dtype the shifted sums are accumulated
      in float32. The module docstring says how the sums are computed where.
    """
    import tensorflow as tf

    kernel_height, kernel_width, channels, filters = kernel.shape
    taps = kernel_height * kernel_width
    sum_dtype = tf.float32 if inputs.dtype in (tf.float16, tf.bfloat16) else inputs.dtype
    # [in_channels, taps * filters]: column (t, u, filter) is kernel[t, u, :, filter].
    tap_matrix = tf.reshape(tf.transpose(kernel, [2, 0, 1, 3]), [channels, -1])
    if in_xla_context():
        return _sum_of_shifted_slices(inputs, tap_matrix, kernel.shape, padding, sum_dtype)
    per_tap = tf.reshape(tf.reshape(inputs, [-1, channels]) @ tap_matrix,
                         [-1, *inputs.shape[1:3], taps * filters])
    # Depthwise filter [kh, kw, (t, u, filter), 1]: one at (t, u) for channel (t, u, filter).
    one_hot_taps = tf.reshape(tf.repeat(tf.eye(taps, dtype=inputs.dtype), filters, axis=1),
                              [kernel_height, kernel_width, taps * filters, 1])
    shifted = tf.nn.depthwise_conv2d(per_tap, one_hot_taps, [1, 1, 1, 1], padding.upper())
    shifted = tf.reshape(tf.cast(shifted, sum_dtype), [-1, *shifted.shape[1:3], taps, filters])
    return tf.cast(tf.reduce_sum(shifted, axis=3), inputs.dtype)


def _sum_of_shifted_slices(inputs, tap_matrix, kernel_shape, padding, sum_dtype):
    """The convolution as slices of the matmul's result, added up; gradients written out."""
    import tensorflow as tf

    kernel_height, kernel_width, channels, filters = kernel_shape
    height, width = inputs.shape[1:3]
    taps = [(t, u) for t in range(kernel_height) for u in range(kernel_width)]
    (pad_top, out_height), (pad_left, out_width) = (
        _axis_padding(size, kernel_size, padding)
        for size, kernel_size in ((height, kernel_height), (width, kernel_width)))

    @tf.custom_gradient
    def convolution(inputs, tap_matrix):
        flat_inputs = tf.reshape(inputs, [-1, channels])
        per_tap = tf.reshape(tf.cast(flat_inputs @ tap_matrix, sum_dtype),
                             [-1, height, width, len(taps), filters])
        # y[n] = sum_t z[n + t - pad, t]: pad z so that every slice is in range.
        pad_bottom = out_height + kernel_height - 1 - pad_top - height
        pad_right = out_width + kernel_width - 1 - pad_left - width
        per_tap = tf.pad(per_tap, [[0, 0], [pad_top, pad_bottom], [pad_left, pad_right],
                                   [0, 0], [0, 0]])
        outputs = tf.add_n([per_tap[:, t:t + out_height, u:u + out_width, index]
                            for index, (t, u) in enumerate(taps)])

        def gradient(output_gradient):
            # dz[p, t] = dy[p - t + pad]: stack shifted copies of the zero-padded gradient.
            padded = tf.pad(output_gradient, [[0, 0], [kernel_height - 1, height],
                                              [kernel_width - 1, width], [0, 0]])
            shifted = tf.stack([
                padded[:, kernel_height - 1 + pad_top - t:kernel_height - 1 + pad_top - t + height,
                       kernel_width - 1 + pad_left - u:kernel_width - 1 + pad_left - u + width]
                for t, u in taps], axis=3)
            shifted = tf.reshape(shifted, [-1, len(taps) * filters])
            input_gradient = tf.reshape(shifted @ tf.transpose(tap_matrix), tf.shape(inputs))
            return input_gradient, tf.matmul(flat_inputs, shifted, transpose_a=True)

        return tf.cast(outputs, inputs.dtype), gradient

    return convolution(inputs, tap_matrix)


@keras.saving.register_keras_serializable(package="models")
class ShiftedSumConv2D(layers.Conv2D):
    """`keras.layers.Conv2D` that computes few-filter convolutions as a matmul and shifted sums.

    Same arguments, variables and outputs as the Keras layer:

        y[n] = sum over taps t of  x[n + t - pad] . kernel[t]

    On the TensorFlow backend, with `strides` and `dilation_rate` 1, no
    groups, `channels_last` data, static spatial sizes, and
    `filters * kernel_height * kernel_width <= in_channels`, the call runs
    `shifted_sum_conv2d`: eagerly, in graphs and under XLA. Every other call
    is Keras's convolution.

    Example:

      to_image = ShiftedSumConv2D(1, 4, padding="same", activation="tanh")
      images = to_image(features)  # features: [batch, 28, 28, 32]
    """

    def _uses_shifted_sums(self, inputs):
        if keras.backend.backend() != "tensorflow" or self.data_format != "channels_last":
            return False
        if tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1) or self.groups != 1:
            return False
        taps = self.kernel_size[0] * self.kernel_size[1]
        return None not in inputs.shape[1:] and self.filters * taps <= inputs.shape[-1]

    def convolution_op(self, inputs, kernel):
        if not self._uses_shifted_sums(inputs):
            return super().convolution_op(inputs, kernel)
        return shifted_sum_conv2d(inputs, keras.ops.convert_to_tensor(kernel), self.padding)
