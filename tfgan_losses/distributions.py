"""Minimal distributions with `log_prob`, for InfoGAN's structured codes.

`mutual_information_penalty` accepts any object with a `log_prob` method;
TensorFlow Probability's distributions work, but TFP pins TensorFlow versions
and pulls in `tf-keras`. These two cover TF-GAN's InfoGAN: a categorical code
and a continuous code, written with `keras.ops`.
"""

import math

from keras import ops


class Categorical:
    """Categorical distribution over `K` classes, parameterised by logits.

    `log p(k) = logits_k - logsumexp(logits)`.

    Args:
      logits: Tensor of shape [..., K].

    Example:
      >>> Categorical(logits=[1.0, 2.0]).log_prob(1)
      -0.3132617
    """

    def __init__(self, logits):
        self.logits = ops.convert_to_tensor(logits, "float32")

    def log_prob(self, value):
        """Log-probability of class indices `value` (integer, or float holding integers)."""
        indices = ops.cast(ops.convert_to_tensor(value), "int32")
        log_probs = ops.log_softmax(self.logits, axis=-1)
        num_classes = log_probs.shape[-1]
        return ops.sum(log_probs * ops.one_hot(indices, num_classes, dtype=log_probs.dtype), axis=-1)


class Normal:
    """Normal distribution, `log p(x) = -((x - loc) / scale)^2 / 2 - log(scale) - log(2 pi) / 2`.

    Args:
      loc: Mean, any shape broadcastable with `scale` and the values.
      scale: Standard deviation, > 0.

    Example:
      >>> Normal(loc=0.0, scale=1.0).log_prob(2.0)
      -2.9189385
    """

    def __init__(self, loc, scale=1.0):
        self.loc = ops.convert_to_tensor(loc, "float32")
        self.scale = ops.convert_to_tensor(scale, "float32")

    def log_prob(self, value):
        """Element-wise log-density of `value`."""
        z = (ops.cast(value, "float32") - self.loc) / self.scale
        return -0.5 * ops.square(z) - ops.log(self.scale) - 0.5 * math.log(2.0 * math.pi)
