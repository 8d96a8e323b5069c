"""Strided 2-D convolutions whose zero-dilated parts XLA compiles as sub-pixel convolutions.

A transposed convolution with stride `s`, and the input gradient of a
convolution with stride `s`, are convolutions over an input dilated with
`s - 1` zeros between pixels; XLA lowers them that way and pays for every
multiply by an inserted zero. On this project's CPU the second 4x4 stride-2
layer of TF-GAN's MNIST generator (14x14x64 -> 28x28x32, batch 128) takes
34 ms under XLA, against 6 ms for TensorFlow's kernel without XLA.

The same result is `s * s` interleaved stride-1 convolutions of the
undilated input, one per output phase, each with the kernel taps that land
on that phase ("sub-pixel convolution", https://arxiv.org/abs/1609.07009).
`sub_pixel_conv2d_transpose` computes them as one stride-1 convolution whose
output channels hold all phases, then interleaves them: 7 ms for that layer.
When traced for XLA, `SubPixelConv2DTranspose` computes its forward pass that
way and `SubPixelConv2D` its input gradient; both keep the other
convolutions TensorFlow's gradients use (strided convolutions and filter
gradients, which XLA runs well). Outside XLA they do so too where the
transposed convolution writes few channels (`writes_few_channels`: the
input gradient of a discriminator's first layer, an upsampling to image
channels), for which oneDNN's transposed convolution is slow.

Outside XLA, in bfloat16, both layers compute their kernel gradients with
`models.space_to_depth_filter_gradient` where that is the faster one (see
its `pays_off`). Everywhere else they are Keras's `Conv2DTranspose` and
`Conv2D`.
"""

import collections

import keras
from keras import layers

from models.space_to_depth_filter_gradient import (pays_off, strided_conv2d,
                                                   strided_conv2d_transpose)
from models.xla_context import in_xla_context


_AxisPlan = collections.namedtuple("_AxisPlan", "taps shifts outputs pad_before pad_after")
"""How one spatial axis of a transposed convolution splits into stride-1 phases.

taps[a]: kernel indices of phase `a` in correlation order, padded with the
  index `kernel_size` (a zero tap) to a common length.
shifts[a]: where phase `a`'s outputs start in the common convolution's output.
outputs[a]: how many outputs phase `a` has.
pad_before, pad_after: zero padding of the input for the common convolution.
"""


def _axis_plan(input_size, output_size, kernel_size, stride, padding):
    """Splits one spatial axis of a transposed convolution into `stride` phases.

    The transposed convolution writes input pixel `i` through tap `t` to
    output `n = i * stride + t - pad`, where `pad` is the leading padding of
    the strided convolution it transposes. Output `n = m * stride + a`
    therefore receives taps `t = j * stride + r` from input `i = m + q - j`,
    where `a + pad = q * stride + r`. As a stride-1 correlation over
    `u = J - 1 - j`, phase `a` reads input `m + first + u`, `first = q - J + 1`,
    with tap `(J - 1 - u) * stride + r`.
    """
    pad = 0
    if padding == "same":
        pad = max((input_size - 1) * stride + kernel_size - output_size, 0) // 2
    taps, firsts, outputs = [], [], []
    for phase in range(stride):
        q, r = divmod(phase + pad, stride)
        num_taps = -(-(kernel_size - r) // stride)
        taps.append([(num_taps - 1 - u) * stride + r for u in range(num_taps)])
        firsts.append(q - num_taps + 1)
        outputs.append(max(0, -(-(output_size - phase) // stride)))
    width = max(len(phase_taps) for phase_taps in taps)
    taps = [phase_taps + [kernel_size] * (width - len(phase_taps)) for phase_taps in taps]
    start = min(firsts)
    shifts = [first - start for first in firsts]
    common_outputs = max(shift + count for shift, count in zip(shifts, outputs))
    return _AxisPlan(taps, shifts, outputs, pad_before=max(0, -start),
                     pad_after=max(0, start + common_outputs + width - 1 - input_size))


def sub_pixel_conv2d_transpose(inputs, kernel, output_shape, strides, padding):
    """`tf.nn.conv2d_transpose` (NHWC, no dilation) as one stride-1 convolution and an interleave.

    Args:
      inputs: `[batch, height, width, in_channels]`, static spatial sizes.
      kernel: `[kernel_height, kernel_width, out_channels, in_channels]`
        (Keras's `Conv2DTranspose` layout).
      output_shape: static `(out_height, out_width)`.
      strides: `(stride_height, stride_width)`.
      padding: `"same"` or `"valid"`.

    Returns:
      `[batch, out_height, out_width, out_channels]`, equal to
      `tf.nn.conv2d_transpose` up to summation order. Gradients are
      TensorFlow's for `conv2d_transpose`; see the module docstring.
    """
    import tensorflow as tf

    rows, cols = (
        _axis_plan(size, out_size, kernel.shape[axis], stride, padding)
        for axis, (size, out_size, stride)
        in enumerate(zip(inputs.shape[1:3], output_shape, strides))
    )
    channels = kernel.shape[2]
    conv_strides, conv_padding = [1, strides[0], strides[1], 1], padding.upper()

    @tf.custom_gradient
    def transposed_convolution(inputs, kernel):
        # Every phase's taps, the zero tap included, as one [kh, kw, in, phases * out] kernel.
        zero_padded = tf.pad(kernel, [[0, 1], [0, 1], [0, 0], [0, 0]])
        phase_kernels = tf.gather(tf.gather(zero_padded, rows.taps, axis=0), cols.taps, axis=2)
        phase_kernels = tf.transpose(phase_kernels, [1, 3, 5, 0, 2, 4])  # kh, kw, in, a, b, out
        phase_kernels = tf.reshape(
            phase_kernels, [len(rows.taps[0]), len(cols.taps[0]), kernel.shape[3], -1])
        padded = tf.pad(inputs, [[0, 0], [rows.pad_before, rows.pad_after],
                                 [cols.pad_before, cols.pad_after], [0, 0]])
        all_phases = tf.nn.conv2d(padded, phase_kernels, 1, "VALID")

        height, width = max(rows.outputs), max(cols.outputs)
        interleaved = []
        for a, (row_shift, row_count) in enumerate(zip(rows.shifts, rows.outputs)):
            row = []
            for b, (col_shift, col_count) in enumerate(zip(cols.shifts, cols.outputs)):
                phase = (a * strides[1] + b) * channels
                outputs = all_phases[:, row_shift:row_shift + row_count,
                                     col_shift:col_shift + col_count, phase:phase + channels]
                row.append(tf.pad(outputs, [[0, 0], [0, height - row_count],
                                            [0, width - col_count], [0, 0]]))
            interleaved.append(tf.stack(row, axis=3))  # [batch, m, n, b, out]
        interleaved = tf.stack(interleaved, axis=2)  # [batch, m, a, n, b, out]
        outputs = tf.reshape(interleaved, [-1, height * strides[0], width * strides[1], channels])

        def gradient(output_gradient):
            input_gradient = tf.nn.conv2d(output_gradient, kernel, conv_strides, conv_padding)
            kernel_gradient = tf.compat.v1.nn.conv2d_backprop_filter(
                output_gradient, tf.shape(kernel), inputs, conv_strides, conv_padding)
            return input_gradient, kernel_gradient

        return outputs[:, :output_shape[0], :output_shape[1]], gradient

    # Variables are read here: a custom gradient must not read them itself.
    return transposed_convolution(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def _has_fast_paths(layer, inputs):
    """Whether a 2-D convolution layer's call has a form its faster paths take.

    The sub-pixel and the space-to-depth paths need: TensorFlow backend,
    `channels_last` data, no dilation, static spatial sizes.
    """
    return (keras.backend.backend() == "tensorflow" and layer.data_format == "channels_last"
            and tuple(layer.dilation_rate) == (1, 1) and None not in inputs.shape[1:])


def writes_few_channels(channels, strides):
    """Whether a strided transposed convolution to `channels` is faster as sub-pixel convolutions.

    Outside XLA, oneDNN's strided transposed convolution to a few channels (an
    upsampling to images, the input gradient of a discriminator's first
    layer) runs far below its rate for wider layers. The sub-pixel form, a
    stride-1 convolution to `channels * strides[0] * strides[1]` phase
    channels, is faster while that product is at most 32. Sub-pixel time
    against oneDNN's on this project's CPU (batch 128, 4x4 kernels, stride 2,
    7x7x128, 14x14x64 and 16x16x32 inputs): 1 to 8 channels 0.46-0.88 in
    float32 and 0.45-0.81 in bfloat16 (the MNIST discriminator's first layer,
    14x14x64 -> 28x28x1: 1.55 against 2.53 ms and 1.16 against 2.55 ms); 16
    channels 1.05-1.30 in float32 and 0.81-1.06 in bfloat16. Strides (2, 1),
    1 to 8 channels: 0.51-0.70. Stride 1 (nothing to undilate) is excluded:
    0.97-1.21.

    Args:
      channels: The transposed convolution's output channels (for the input
        gradient of a convolution: the convolution's input channels).
      strides: `(stride_height, stride_width)`.
    """
    phases = strides[0] * strides[1]
    return 1 < phases and channels * phases <= 32


def _common_stride(layer):
    """The layer's stride if both spatial strides are equal, else None."""
    return layer.strides[0] if layer.strides[0] == layer.strides[1] else None


@keras.saving.register_keras_serializable(package="models")
class SubPixelConv2DTranspose(layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` that XLA compiles as sub-pixel convolutions.

    Same arguments, variables and outputs as the Keras layer:

        y[n] = sum over i, t with i * stride + t - pad = n of  x[i] . kernel[t]

    per spatial dimension (`pad` is the leading padding of the strided
    convolution it transposes). When it is traced for XLA on the TensorFlow
    backend (`jit_compile=True`) with `channels_last` data, no dilation, no
    `output_padding` and static spatial sizes, the call computes the
    `strides[0] * strides[1]` output phases with one stride-1 convolution of
    the input and interleaves them (https://arxiv.org/abs/1609.07009), instead
    of the zero-dilated convolution XLA makes of Keras's op, which is several
    times slower on the CPU; outside XLA it does so when `filters` are few
    (`writes_few_channels`). Otherwise, outside XLA, with equal strides and where
    `space_to_depth_filter_gradient.pays_off` (bfloat16, small inputs), the
    kernel gradient is computed as matmuls of space-to-depth windows. Every
    other call is Keras's.

    Example:

      upsample = SubPixelConv2DTranspose(64, 4, strides=2, padding="same")
      images = upsample(features)  # [batch, 2 * height, 2 * width, 64]
    """

    def call(self, inputs):
        if not (_has_fast_paths(self, inputs) and self.output_padding is None):
            return super().call(inputs)
        import tensorflow as tf

        output_shape = self.compute_output_shape(inputs.shape)
        kernel = keras.ops.convert_to_tensor(self.kernel)
        stride = _common_stride(self)
        if in_xla_context() or writes_few_channels(self.filters, self.strides):
            outputs = sub_pixel_conv2d_transpose(inputs, kernel, output_shape[1:3], self.strides,
                                                 self.padding)
        elif stride and pays_off(inputs.dtype, self.kernel_size, stride, in_channels=self.filters,
                                 filters=inputs.shape[-1], output_size=inputs.shape[1:3]):
            outputs = strided_conv2d_transpose(
                inputs, kernel, [tf.shape(inputs)[0], *output_shape[1:]], stride, self.padding)
        else:
            return super().call(inputs)
        if self.use_bias:
            outputs = keras.ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="models")
class SubPixelConv2D(layers.Conv2D):
    """`keras.layers.Conv2D` whose input gradient XLA compiles as sub-pixel convolutions.

    Same arguments, variables, outputs and gradients as the Keras layer:

        y[n] = sum over t of  x[n * stride + t - pad] . kernel[t]
        dL/dx[i] = sum over n, t with n * stride + t - pad = i of  kernel[t] . dL/dy[n]

    per spatial dimension. The input gradient is a transposed convolution of
    `dL/dy`; when the layer is traced for XLA on the TensorFlow backend with
    `strides` above 1, `channels_last` data, no dilation or groups, and
    static spatial sizes, it is computed by `sub_pixel_conv2d_transpose`
    instead of the zero-dilated convolution XLA makes of it; outside XLA too
    when the input has few channels (`writes_few_channels`; images). The kernel
    gradient is TensorFlow's filter gradient, the forward pass Keras's
    convolution; higher-order gradients (a gradient penalty) go through the
    same ops. Outside XLA, with equal strides and where
    `space_to_depth_filter_gradient.pays_off` (bfloat16, small outputs), the
    kernel gradient is computed as matmuls of space-to-depth windows
    (`strided_conv2d`). Every other call is Keras's. `SpectralNormalization`
    wraps it like a `Conv2D`.

    Example:

      downsample = SubPixelConv2D(64, 4, strides=2, padding="same")
      features = downsample(images)  # [batch, height / 2, width / 2, 64]
    """

    def convolution_op(self, inputs, kernel):
        if not (_has_fast_paths(self, inputs) and self.groups == 1
                and tuple(self.strides) != (1, 1)):
            return super().convolution_op(inputs, kernel)
        kernel = keras.ops.convert_to_tensor(kernel)
        if in_xla_context() or writes_few_channels(inputs.shape[-1], self.strides):
            return self._sub_pixel_input_gradient_convolution(inputs, kernel)
        stride = _common_stride(self)
        output_size = self.compute_output_shape(inputs.shape)[1:3]
        if stride and pays_off(inputs.dtype, self.kernel_size, stride, in_channels=inputs.shape[-1],
                               filters=self.filters, output_size=output_size):
            return strided_conv2d(inputs, kernel, stride, self.padding)
        return super().convolution_op(inputs, kernel)

    def _sub_pixel_input_gradient_convolution(self, inputs, kernel):
        import tensorflow as tf

        strides, padding = [1, *self.strides, 1], self.padding.upper()
        input_size = tuple(inputs.shape[1:3])

        @tf.custom_gradient
        def convolution(inputs, kernel):
            def gradient(output_gradient):
                input_gradient = sub_pixel_conv2d_transpose(
                    output_gradient, kernel, input_size, self.strides, self.padding)
                kernel_gradient = tf.compat.v1.nn.conv2d_backprop_filter(
                    inputs, tf.shape(kernel), output_gradient, strides, padding)
                return input_gradient, kernel_gradient

            return tf.nn.conv2d(inputs, kernel, strides, padding), gradient

        return convolution(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))
