"""tfgan-losses: TF-GAN's GAN toolkit for Keras 3.

Replace `tfgan.losses.wargs` with `tfgan_losses` in TF-GAN code:

    import tfgan_losses
    d_loss = tfgan_losses.modified_discriminator_loss(d_real_logits, d_gen_logits)

The same losses exist as Keras `Loss` classes (`tfgan_losses.ModifiedDiscriminatorLoss`);
`GANModel` trains a generator and a discriminator with `model.fit`;
`tfgan_losses.eval` holds TF-GAN's evaluation metrics and `tfgan_losses.features`
the layers of TF-GAN's networks (spectral normalization, one-hot conditioning).
"""

import os as _os

from tfgan_losses import native_log_filter as _native_log_filter

if _os.environ.get(_native_log_filter.FILTER_ENV_VAR) == "1":  # Before TensorFlow's import.
    _native_log_filter.filter_known_harmless_native_logs()

from tfgan_losses import distribute, distributions, divergences, features  # noqa: E402,F401
from tfgan_losses.losses import *  # noqa: F401,F403  (the public loss API)
from tfgan_losses.losses import __all__ as _losses_all
from tfgan_losses.training.callbacks import (
    ClipWeights, GANCheckpoint, GANSummaries, StopAtStep, TerminateOnNonFinite)
from tfgan_losses.training.batch_norm import recalibrate_batch_norm
from tfgan_losses.training.conditional import ConditionalGANModel
from tfgan_losses.training.export import export_generator
from tfgan_losses.training.gan_model import GANModel
from tfgan_losses.training.infogan import InfoGANModel

__version__ = "0.1.0"
__all__ = list(_losses_all) + [
    "GANModel", "ConditionalGANModel", "InfoGANModel", "ClipWeights", "TerminateOnNonFinite",
    "GANCheckpoint", "GANSummaries", "StopAtStep", "export_generator", "recalibrate_batch_norm",
]
