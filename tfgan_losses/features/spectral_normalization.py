"""Spectral normalisation as TF-GAN computes it: a re-parametrised kernel.

Keras port of `tfgan.features.spectral_normalize` /
`spectral_normalization_custom_getter`
(https://github.com/tensorflow/gan/blob/master/tensorflow_gan/python/features/spectral_normalization.py),
from "Spectral Normalization for Generative Adversarial Networks"
(https://arxiv.org/abs/1802.05957).

The wrapped layer computes with `W / sigma(W)`, where `sigma(W)` is the
largest singular value of the kernel reshaped to a matrix `W` of shape
[-1, output_size], estimated by one round of power iteration per training
call from a stored vector `u` (one entry per row of `W`):

    v = normalize(W^T u),  u' = normalize(W v),  sigma = u'^T W v

with `u'` and `v` held constant for the gradient (`stop_gradient`), so that
the gradient flows through `sigma` into `W`, as in the paper and TF-GAN.

The wrapped layer's kernel regularizer (TF-GAN's weight decay) applies to
`W / sigma`, once per call, as in TF-GAN, whose layers regularized what the
custom getter returned. Because `sigma` scales with `W`, an L2 term's gradient
is orthogonal to `W`: it flattens the spectrum instead of shrinking the kernel.

`keras.layers.SpectralNormalization` differs: it *assigns* `W / sigma` to the
kernel variable before each training call, so the optimiser steps on the
normalised kernel and no gradient flows through `sigma`.
"""

import math

import keras
from keras import layers, ops

_EPSILON = 1e-12  # TF's l2_normalize epsilon (on the squared norm).


def _l2_normalize(vector):
    return vector * ops.rsqrt(ops.maximum(ops.sum(ops.square(vector)), _EPSILON))


@keras.saving.register_keras_serializable(package="tfgan_losses")
class SpectralNormalization(layers.Wrapper):
    """Wraps a `Dense` or convolution layer to compute with its spectrally normalised kernel.

    `outputs = activation(linear(inputs, W / sigma(W)) + bias)`. In training
    calls the stored vector `u` advances one power-iteration round (TF-GAN
    updates it on every use); in inference calls it stays fixed. `sigma` is
    computed in float32 from the float32 kernel, also under a mixed-precision
    policy. The wrapped layer's `kernel_regularizer` is evaluated at
    `W / sigma` and added once per call (`add_loss`), as TF-GAN's weight decay.

    Args:
      layer: A `keras.layers.Dense` or `keras.layers.Conv1D/2D/3D` (not a
        transposed convolution).
      **kwargs: Base `keras.layers.Layer` arguments, such as `name`.

    Raises:
      TypeError: For another kind of layer.
      ValueError: For a convolution with `padding="causal"`.

    Example:

      dense = SpectralNormalization(keras.layers.Dense(1024))
      features = dense(inputs, training=True)  # [batch, 1024]
    """

    def __init__(self, layer, **kwargs):
        # Conv1D/2D/3D have `convolution_op`; transposed, depthwise and separable
        # convolutions do not.
        if not (isinstance(layer, layers.Dense) or hasattr(layer, "convolution_op")):
            raise TypeError("SpectralNormalization wraps a keras.layers.Dense or Conv1D/2D/3D "
                            f"layer, got {type(layer).__name__}.")
        if getattr(layer, "padding", None) == "causal":  # Conv1D pads in `call`, not here.
            raise ValueError("SpectralNormalization cannot wrap a convolution with "
                             "padding='causal'; pad the inputs and use padding='valid'.")
        # Variables are read in float32 (sigma in full precision) and the normalised
        # kernel is cast to the compute dtype explicitly.
        super().__init__(layer, autocast=False, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        # Applied to W / sigma in `call`, not to W by Keras's weight regularization.
        self.kernel_regularizer = self.layer.kernel.regularizer
        self.layer.kernel.regularizer = None
        self.vector_u = self.add_weight(
            shape=(1, math.prod(self.layer.kernel.shape[:-1])),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False, name="vector_u", aggregation="only_first_replica")

    def spectral_norm(self, training=False):
        """Power-iteration estimate of the kernel's largest singular value (float32 scalar).

        With `training`, also stores the advanced `u` vector.
        """
        matrix = ops.reshape(self.layer.kernel, (-1, self.layer.kernel.shape[-1]))
        vector_v = ops.stop_gradient(_l2_normalize(ops.matmul(self.vector_u, matrix)))
        matrix_v = ops.matmul(vector_v, ops.transpose(matrix))  # (W v)^T, [1, rows].
        vector_u = ops.stop_gradient(_l2_normalize(matrix_v))
        if training:
            self.vector_u.assign(vector_u)
        return ops.sum(vector_u * matrix_v)

    def call(self, inputs, training=False):
        dtype = self.layer.compute_dtype  # The wrapped layer's policy decides.
        normalized_kernel = self.layer.kernel / self.spectral_norm(training)
        if self.kernel_regularizer is not None:
            self.add_loss(self.kernel_regularizer(normalized_kernel))
        inputs, kernel = ops.cast(inputs, dtype), ops.cast(normalized_kernel, dtype)
        if isinstance(self.layer, layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        else:
            outputs = self.layer.convolution_op(inputs, kernel)
        if self.layer.use_bias:
            bias_shape = [1] * len(outputs.shape)  # As Keras's layers add their bias.
            channels_axis = 1 if getattr(self.layer, "data_format", None) == "channels_first" else -1
            bias_shape[channels_axis] = -1
            outputs = ops.add(outputs, ops.reshape(ops.cast(self.layer.bias, dtype), bias_shape))
        return self.layer.activation(outputs) if self.layer.activation else outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)
