"""A stride-1 2-D convolution with few filters, as one matmul and a sum of shifted slices.

A convolution to a few output channels, such as the last layer of TF-GAN's
MNIST generator (4x4, 32 channels to 1 at 28x28), is a poor fit for
convolution kernels: at batch 128 its 0.1 GFLOP take about 6 ms in float32,
with TensorFlow's kernel and under XLA. It can be computed instead as

    z[p, t] = x[p] . kernel[t]                   (one matmul: every tap at once)
    y[n]    = sum over taps t of  z[n + t - pad, t]  (shifted slices, summed)

and its gradients as the same matmuls against a stack of shifted copies of
the output gradient. `ShiftedSumConv2D` does this when its taps times
filters are at most its input channels, so that `z` is no larger than the
input. In float32: 1.4 ms forward under XLA and 3.9 ms without, 5.6 and 8.3 ms
forward and backward, against 5.9-6.1 and 11.8-13.1 ms for the convolution.
In bfloat16 it only pays under XLA (2.5 ms forward, 7.8 ms forward and
backward, against 6.7 and 12.5 ms); without XLA, oneDNN's bfloat16
convolution is the faster (3.0 and 6.6 ms, against 3.8 and 8.8 ms).
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
      in float32. Its gradients are the matmuls of the module docstring.
    """
    import tensorflow as tf

    kernel_height, kernel_width, channels, filters = kernel.shape
    height, width = inputs.shape[1:3]
    taps = [(t, u) for t in range(kernel_height) for u in range(kernel_width)]
    (pad_top, out_height), (pad_left, out_width) = (
        _axis_padding(size, kernel_size, padding)
        for size, kernel_size in ((height, kernel_height), (width, kernel_width)))
    sum_dtype = tf.float32 if inputs.dtype in (tf.float16, tf.bfloat16) else inputs.dtype
    # [in_channels, taps * filters]: column (t, u, filter) is kernel[t, u, :, filter].
    tap_matrix = tf.reshape(tf.transpose(kernel, [2, 0, 1, 3]), [channels, -1])

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
    `shifted_sum_conv2d`: eagerly, in graphs and under XLA, except for
    bfloat16 inputs outside XLA. Every other call is Keras's convolution.

    Example:

      to_image = ShiftedSumConv2D(1, 4, padding="same", activation="tanh")
      images = to_image(features)  # features: [batch, 28, 28, 32]
    """

    def _uses_shifted_sums(self, inputs):
        if keras.backend.backend() != "tensorflow" or self.data_format != "channels_last":
            return False
        if tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1) or self.groups != 1:
            return False
        if keras.backend.standardize_dtype(inputs.dtype) == "bfloat16" and not in_xla_context():
            return False  # oneDNN's bfloat16 convolution is the faster one there.
        taps = self.kernel_size[0] * self.kernel_size[1]
        return None not in inputs.shape[1:] and self.filters * taps <= inputs.shape[-1]

    def convolution_op(self, inputs, kernel):
        if not self._uses_shifted_sums(inputs):
            return super().convolution_op(inputs, kernel)
        return shifted_sum_conv2d(inputs, keras.ops.convert_to_tensor(kernel), self.padding)
