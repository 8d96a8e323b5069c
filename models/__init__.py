"""TF-GAN's MNIST example networks, in plain Keras 3 (any backend).

These are examples, not part of the installed library: `train.py`, `eval.py`,
`bench/`, `tests/` and `examples/` import them from the repository root, as
TF-GAN's examples did. The layers they use beyond Keras's own come from
`tfgan_losses.features`.
"""

from models.mnist import (
    TINY_SIZES,
    WEIGHT_DECAY,
    conditional_discriminator,
    conditional_generator,
    infogan_discriminator,
    infogan_generator,
    unconditional_discriminator,
    unconditional_generator,
)

__all__ = [
    "TINY_SIZES",
    "WEIGHT_DECAY",
    "conditional_discriminator",
    "conditional_generator",
    "infogan_discriminator",
    "infogan_generator",
    "unconditional_discriminator",
    "unconditional_generator",
]
