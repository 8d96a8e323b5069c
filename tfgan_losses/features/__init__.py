"""Layers that TF-GAN's networks use, as `tfgan.features` provided them.

* `SpectralNormalization`: TF-GAN's spectrally normalised kernel
  (`tfgan.features.spectral_normalization_custom_getter`), gradient through
  sigma, weight decay on `W / sigma`.
* `OneHotConditioning`: TF-GAN's `condition_tensor_from_onehot`, as a layer.

Both are registered for Keras serialization under the `tfgan_losses` package,
so a `.keras` file that uses them loads after `import tfgan_losses`.

Example:

    from tfgan_losses.features import OneHotConditioning, SpectralNormalization

    features = SpectralNormalization(keras.layers.Dense(1024))(flat_images)
    conditioned = OneHotConditioning(256)([features, one_hot_labels])
"""

from tfgan_losses.features.conditioning import OneHotConditioning
from tfgan_losses.features.spectral_normalization import SpectralNormalization

__all__ = ["OneHotConditioning", "SpectralNormalization"]
