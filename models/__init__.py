"""Keras 3 networks for the GAN examples: TF-GAN's MNIST generators and discriminators."""

from models.batch_normalization import FusedBatchNormalization
from models.conditioning import OneHotConditioning
from models.kernel_first_matmul import KernelFirstDense
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
from models.shifted_sum_convolution import ShiftedSumConv2D
from models.spectral_normalization import SpectralNormalization
from models.sub_pixel_convolution import SubPixelConv2D, SubPixelConv2DTranspose

__all__ = [
    "FusedBatchNormalization",
    "KernelFirstDense",
    "OneHotConditioning",
    "ShiftedSumConv2D",
    "SpectralNormalization",
    "SubPixelConv2D",
    "SubPixelConv2DTranspose",
    "TINY_SIZES",
    "WEIGHT_DECAY",
    "conditional_discriminator",
    "conditional_generator",
    "infogan_discriminator",
    "infogan_generator",
    "unconditional_discriminator",
    "unconditional_generator",
]
