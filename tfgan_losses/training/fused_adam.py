"""Adam whose update runs as one fused TensorFlow kernel per variable.

Keras 3's `keras.optimizers.Adam` writes its update with `keras.ops`: about a
dozen element-wise kernels per variable (two moment updates, a square root, a
division, three assignments), each a pass over memory. For the MNIST
networks' 6.4 M-weight dense kernels those passes are a sizeable part of a
CPU train step (`bench/throughput.py`). TensorFlow's `ResourceApplyAdam` (what `tf.keras`
2 used) does the same update in one pass, and has an XLA kernel.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_losses")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, updated by TensorFlow's fused `ResourceApplyAdam`.

    Same arguments, state and update as `keras.optimizers.Adam`
    (https://arxiv.org/abs/1412.6980), with `t` the 1-based update count:

        m <- m + (1 - beta_1) (g - m)
        v <- v + (1 - beta_2) (g^2 - v)
        w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    On the TensorFlow backend each variable's update is one kernel; with
    `amsgrad=True` or another backend it is Keras's own update. Weight decay,
    gradient clipping, loss scaling and `use_ema` work as for `Adam`.
    `GANModel`'s default optimizers are `FusedAdam`.

    Example:

      gan.compile(generator_optimizer=FusedAdam(1e-3, beta_1=0.5),
                  discriminator_optimizer=FusedAdam(1e-4, beta_1=0.5))
    """

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step), lr=ops.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype))
