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
`W / sigma`, once per call, as in TF-GAN: its layers regularize what the
custom getter returns, the normalised kernel, and each call of the
discriminator adds its own term. The wrapper takes the regularizer over from
the kernel variable and adds the term with `add_loss`; for an L2 regularizer
`L2(W / sigma) = L2(W) / sigma**2`, so W / sigma need not be formed.
Because `sigma` scales with `W`, the term's gradient is orthogonal to `W`: it
flattens the spectrum instead of shrinking the kernel.

`keras.layers.SpectralNormalization` differs: it *assigns* `W / sigma` to the
kernel variable before each training call, so the optimiser steps on the
normalised kernel and no gradient flows through `sigma`; under a mixed
precision policy it also stores the kernel rounded to the compute dtype.
"""

import math

import keras
from keras import layers, ops

from models import kernel_first_matmul

_EPSILON = 1e-12  # TF's l2_normalize epsilon (on the squared norm).


def _l2_normalize(vector):
    return vector * ops.rsqrt(ops.maximum(ops.sum(ops.square(vector)), _EPSILON))


@keras.saving.register_keras_serializable(package="models")
class SpectralNormalization(layers.Wrapper):
    """Wraps a `Dense` or convolution layer to compute with its spectrally normalised kernel.

    `outputs = activation(linear(inputs, W / sigma(W)) + bias)`. The division
    is applied to whichever is smaller: the kernel (convolutions, whose
    kernels are small beside their outputs) or the linear output
    `linear(inputs, W) / sigma(W)` (large dense kernels, such as the MNIST
    discriminator's 6272x1024), so each call makes one pass over the smaller
    tensor only; a dense layer dividing its output appends the power
    iteration's `u` to its inputs as one more row, so that the matmul also
    carries sigma's kernel gradient (`_dense_products_and_sigma`). In
    training calls `u` advances one power-iteration round (TF-GAN updates it
    on every use); in inference calls it stays fixed. `sigma` is computed in
    float32 from the float32 kernel, also under a mixed-precision policy
    (inside a model; a dense layer's sigma gradient takes the compute dtype). A wrapped
    `Dense` multiplies with `kernel_first_matmul.matmul` (a faster float32
    input gradient). The wrapped layer's `kernel_regularizer` is evaluated at
    `W / sigma` and added once per call (`add_loss`), as TF-GAN's weight decay.

    Args:
      layer: A `keras.layers.Dense` or `keras.layers.Conv1D/2D/3D` (not a
        transposed convolution).
      **kwargs: Base `keras.layers.Layer` arguments, such as `name`.

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
        # Variables are read in float32 (sigma in full precision) and cast for
        # the linear map explicitly. (Keras still autocasts variable reads when a
        # layer with a mixed policy is called on its own, outside any model:
        # there sigma is computed from the rounded kernel.)
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
        return self._power_iteration(training)[2]

    def _power_iteration(self, training):
        """One round of power iteration: `(u', v, sigma)`, `u'` and `v` constant for the gradient.

        Row vectors: `u'` [1, rows], `v` [1, columns]. With `training`, stores `u'`.
        """
        matrix = ops.reshape(self.layer.kernel, (-1, self.layer.kernel.shape[-1]))
        # `matrix_v` (W v) serves both the new u and sigma = u'^T W v, so the kernel is
        # read twice, not three times. It is computed as W times a column, so its
        # gradient (an outer product) comes out in the kernel's layout, without
        # transposing a kernel-sized matrix.
        vector_v = ops.stop_gradient(_l2_normalize(ops.matmul(self.vector_u, matrix)))
        matrix_v = ops.reshape(ops.matmul(matrix, ops.reshape(vector_v, (-1, 1))), (1, -1))
        vector_u = ops.stop_gradient(_l2_normalize(matrix_v))
        if training:
            self.vector_u.assign(vector_u)
        return vector_u, vector_v, ops.sum(vector_u * matrix_v)

    def _dense_products_and_sigma(self, inputs, kernel, training):
        """`inputs @ W` and sigma, sigma's kernel gradient carried by that matmul.

        Sigma's kernel gradient is the outer product `u' v^T` (times sigma's
        upstream gradient), a kernel-sized tensor that the kernel's gradient
        would add to the matmul's. With `u'` appended to the inputs as one more
        row, the matmul also computes `u'^T W`, and its own kernel gradient,
        `[inputs; u']^T [dy; dsigma * v]`, includes that term: with the MNIST
        discriminator's 6272x1024 kernel, train steps about 2% faster without
        XLA (under XLA, no change). Sigma's value stays the float32 estimate of
        `_power_iteration`; only its gradient takes the matmul's path (in the
        compute dtype).
        """
        vector_u, vector_v, sigma = self._power_iteration(training)
        rows = ops.reshape(inputs, (-1, inputs.shape[-1]))
        products = kernel_first_matmul.matmul(
            ops.concatenate([rows, ops.cast(vector_u, rows.dtype)], axis=0), kernel)
        outputs = products[:-1]
        if len(inputs.shape) != 2:
            outputs = ops.reshape(outputs, tuple(ops.shape(inputs)[:-1]) + (kernel.shape[-1],))
        sigma_by_matmul = ops.sum(ops.cast(products[-1:], "float32") * vector_v)
        return outputs, ops.stop_gradient(sigma - sigma_by_matmul) + sigma_by_matmul

    def _divides_kernel(self, input_shape):
        """Whether dividing the kernel by sigma costs less than dividing the output.

        Compares the kernel's size with the output's; an unknown batch size
        counts as 1.
        """
        output_shape = self.layer.compute_output_shape((1,) + tuple(input_shape[1:]))
        if any(size is None for size in output_shape[1:]):
            return False
        batch = input_shape[0] or 1
        return math.prod(self.layer.kernel.shape) <= batch * math.prod(output_shape[1:])

    def call(self, inputs, training=False):
        dtype = self.layer.compute_dtype  # The wrapped layer's policy decides.
        inputs = ops.cast(inputs, dtype)  # Not autocast: see __init__.
        kernel = self.layer.kernel
        if self._divides_kernel(inputs.shape):
            inverse_sigma = 1.0 / self.spectral_norm(training)
            outputs = self._linear_map(inputs, ops.cast(kernel * inverse_sigma, dtype))
        else:
            if isinstance(self.layer, layers.Dense):
                outputs, sigma = self._dense_products_and_sigma(
                    inputs, ops.cast(kernel, dtype), training)
            else:
                sigma = self.spectral_norm(training)
                outputs = self._linear_map(inputs, ops.cast(kernel, dtype))
            inverse_sigma = 1.0 / sigma
            outputs = outputs * ops.cast(inverse_sigma, dtype)
        if self.kernel_regularizer is not None:
            self.add_loss(self._normalized_kernel_penalty(inverse_sigma))
        if self.layer.use_bias:
            bias = ops.cast(self.layer.bias, dtype)
            if getattr(self.layer, "data_format", None) == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * (len(outputs.shape) - 2))
            outputs = outputs + bias
        return self.layer.activation(outputs) if self.layer.activation else outputs

    def _linear_map(self, inputs, kernel):
        if isinstance(self.layer, layers.Dense):
            return kernel_first_matmul.matmul(inputs, kernel)
        return self.layer.convolution_op(inputs, kernel)

    def _normalized_kernel_penalty(self, inverse_sigma):
        """The kernel regularizer's value at W / sigma (float32).

        Keras's L2 gives `l2 * sum(W**2) / sigma**2`. On TensorFlow the sum is
        `2 * tf.nn.l2_loss(W)`, one pass over W with a one-multiply gradient
        (`sum(square(W))` also broadcasts its gradient over W first): the MNIST
        discriminator adds the term three times per update, 1.6 ms against 3 ms
        each for its 6272x1024 kernel.
        """
        regularizer, kernel = self.kernel_regularizer, self.layer.kernel
        if type(regularizer) is not keras.regularizers.L2:
            return regularizer(kernel * inverse_sigma)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            squared_norm = 2.0 * tf.nn.l2_loss(kernel.value)
        else:
            squared_norm = ops.sum(ops.square(kernel))
        return regularizer.l2 * squared_norm * ops.square(inverse_sigma)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)
