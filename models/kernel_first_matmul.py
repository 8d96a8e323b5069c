"""A float32 matmul whose input gradient multiplies the kernel first.

The input gradient of `y = x W` is `dx = dy W^T`. TensorFlow computes it as a
`MatMul` with a transposed second operand, which oneDNN runs slowly in
float32 on this project's CPU when the kernel is large and the batch small:
for the MNIST discriminator's 6272x1024 kernel at batch 128, 9.8 ms. The
same product with the kernel first, `dx = (W dy^T)^T`, transposes only the
small operand: 6.7 ms. The discriminator's input gradient passes through
that layer about five times per train step (the gradient penalty included);
`kernel_first_matmul` and `KernelFirstDense` make float32 train steps
about 6% faster.
"""

import math

import keras
from keras import layers

from models.xla_context import in_xla_context


def pays_off(dtype, rows, kernel_shape):
    """Whether the kernel-first input gradient is the faster one, for a traced matmul.

    Measured on this project's CPU (2 cores, oneDNN) for `dy W^T` against
    `(W dy^T)^T`: in float32, outside XLA, with kernels of at least 2**20
    weights and at most 256 rows, 0.33-0.93 of the time (6272x1024 at 128
    rows: 0.68-0.69; 1024x6272: 0.81-0.83; at 32 rows: 0.33 and 0.49; at 256
    rows: 0.91 and 0.93). No faster: 384 rows (1.02 and 0.98), 512 rows
    (1.08); slower: small kernels (64x1024: 1.04; 1024x1: 1.35), bfloat16 (1.12).

    Args:
      dtype: The dtype of the matmul's inputs.
      rows: The number of input rows (the batch), None if unknown.
      kernel_shape: `(in_features, out_features)`.
    """
    return (keras.backend.backend() == "tensorflow"
            and keras.backend.standardize_dtype(dtype) == "float32" and not in_xla_context()
            and rows is not None and rows <= 256 and math.prod(kernel_shape) >= 2**20)


def kernel_first_matmul(inputs, kernel):
    """`inputs @ kernel` (2-D, TensorFlow) with the input gradient `(kernel @ dy^T)^T`.

    Args:
      inputs: `[rows, in_features]`.
      kernel: `[in_features, out_features]`.

    Returns:
      `[rows, out_features]`. The kernel gradient is `inputs^T @ dy`, as
      TensorFlow's; both gradients are matmuls, so they differentiate again.

    Example:

      outputs = kernel_first_matmul(features, dense.kernel)
    """
    import tensorflow as tf

    @tf.custom_gradient
    def product(inputs, kernel):
        def gradient(output_gradient):
            input_gradient = tf.transpose(tf.matmul(kernel, output_gradient, transpose_b=True))
            return input_gradient, tf.matmul(inputs, output_gradient, transpose_a=True)

        return tf.matmul(inputs, kernel), gradient

    # Variables are read here: a custom gradient must not read them itself.
    return product(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def matmul(inputs, kernel):
    """`keras.ops.matmul`, or `kernel_first_matmul` where it `pays_off` (2-D inputs)."""
    if len(inputs.shape) == 2 and pays_off(inputs.dtype, inputs.shape[0], kernel.shape):
        return kernel_first_matmul(inputs, kernel)
    return keras.ops.matmul(inputs, kernel)


@keras.saving.register_keras_serializable(package="models")
class KernelFirstDense(layers.Dense):
    """`keras.layers.Dense` whose float32 input gradient multiplies the kernel first.

    Same arguments, variables, outputs and gradients as the Keras layer,
    `outputs = activation(inputs @ kernel + bias)`. On 2-D inputs where
    `pays_off` (TensorFlow, float32, outside XLA, at least 2**20 weights, at
    most 256 rows), the input gradient is computed as `(kernel @ dy^T)^T`
    instead of TensorFlow's slower `dy @ kernel^T`. Every other call
    (quantized kernels included) is Keras's.

    Example:

      hidden = KernelFirstDense(7 * 7 * 128)(features)  # [batch, 6272]
    """

    def call(self, inputs, training=None):
        if self.quantization_mode is not None:
            return super().call(inputs, training=training)
        outputs = matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = keras.ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
