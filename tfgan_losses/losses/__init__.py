"""TF-GAN's losses (`tfgan.losses.wargs`) as functions and as Keras `Loss` classes."""

from tfgan_losses.losses.acgan import acgan_discriminator_loss, acgan_generator_loss
from tfgan_losses.losses.combine import combine_adversarial_loss, numerically_stable_global_norm
from tfgan_losses.losses.cycle_consistency import cycle_consistency_loss
from tfgan_losses.losses.gradient_penalty import wasserstein_gradient_penalty
from tfgan_losses.losses.keras_losses import (
    LOSS_CLASSES, ACGANDiscriminatorLoss, ACGANGeneratorLoss, GANLoss,
    GeneratedOutputsLoss, LeastSquaresDiscriminatorLoss, LeastSquaresGeneratorLoss,
    MinimaxDiscriminatorLoss, MinimaxGeneratorLoss, ModifiedDiscriminatorLoss,
    ModifiedGeneratorLoss, RealAndGeneratedOutputsLoss, RelativisticDiscriminatorLoss,
    RelativisticGeneratorLoss, WassersteinDiscriminatorLoss, WassersteinGeneratorLoss,
    WassersteinHingeDiscriminatorLoss, WassersteinHingeGeneratorLoss, get)
from tfgan_losses.losses.least_squares import (
    least_squares_discriminator_loss, least_squares_generator_loss)
from tfgan_losses.losses.minimax import (
    minimax_discriminator_loss, minimax_generator_loss, modified_discriminator_loss,
    modified_generator_loss)
from tfgan_losses.losses.mutual_information import mutual_information_penalty
from tfgan_losses.losses.reduction import Reduction, compute_weighted_loss
from tfgan_losses.losses.relativistic import (
    relativistic_discriminator_loss, relativistic_generator_loss)
from tfgan_losses.losses.wasserstein import (
    wasserstein_discriminator_loss, wasserstein_generator_loss,
    wasserstein_hinge_discriminator_loss, wasserstein_hinge_generator_loss)

__all__ = [
    # Functional API, TF-GAN's names (tfgan.losses.wargs).
    "acgan_discriminator_loss", "acgan_generator_loss",
    "least_squares_discriminator_loss", "least_squares_generator_loss",
    "minimax_discriminator_loss", "minimax_generator_loss",
    "modified_discriminator_loss", "modified_generator_loss",
    "relativistic_discriminator_loss", "relativistic_generator_loss",
    "wasserstein_discriminator_loss", "wasserstein_generator_loss",
    "wasserstein_hinge_discriminator_loss", "wasserstein_hinge_generator_loss",
    "wasserstein_gradient_penalty", "mutual_information_penalty",
    "combine_adversarial_loss", "cycle_consistency_loss",
    "numerically_stable_global_norm",
    # Reductions.
    "Reduction", "compute_weighted_loss",
    # Keras Loss classes.
    "GANLoss", "GeneratedOutputsLoss", "RealAndGeneratedOutputsLoss",
    "ACGANDiscriminatorLoss", "ACGANGeneratorLoss",
    "LeastSquaresDiscriminatorLoss", "LeastSquaresGeneratorLoss",
    "MinimaxDiscriminatorLoss", "MinimaxGeneratorLoss",
    "ModifiedDiscriminatorLoss", "ModifiedGeneratorLoss",
    "RelativisticDiscriminatorLoss", "RelativisticGeneratorLoss",
    "WassersteinDiscriminatorLoss", "WassersteinGeneratorLoss",
    "WassersteinHingeDiscriminatorLoss", "WassersteinHingeGeneratorLoss",
    "LOSS_CLASSES", "get",
]
