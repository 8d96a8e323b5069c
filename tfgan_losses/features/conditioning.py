"""Conditioning a feature vector on a one-hot class label, as in TF-GAN.

Keras port of `tfgan.features.condition_tensor_from_onehot`
(https://github.com/tensorflow/gan/blob/master/tensorflow_gan/python/features/conditioning_utils.py),
the scheme of "Conditional Image Generation with PixelCNN Decoders"
(https://arxiv.org/abs/1609.03499): the label is embedded, projected linearly
to the size of the features, and added to them.
"""

import keras

from tfgan_losses.features.spectral_normalization import SpectralNormalization


@keras.saving.register_keras_serializable(package="tfgan_losses")
class OneHotConditioning(keras.layers.Layer):
    """Adds a learned linear function of a one-hot label to a feature vector.

    `outputs = features + projection(embedding(one_hot_labels))`, where
    `embedding` is a bias-free dense layer (for exact one-hot labels, a lookup
    in a [num_classes, embedding_size] table, as TF-GAN's) and `projection` a
    dense layer with bias mapping the embedding to the number of features.

    Call arguments:
      inputs: A pair `(features, one_hot_labels)` of shapes
        [batch, num_features] and [batch, num_classes].

    Returns:
      A tensor shaped like `features`.

    Example:

      features = keras.Input((1024,))
      labels = keras.Input((10,))
      conditioned = OneHotConditioning()([features, labels])  # [batch, 1024]
    """

    def __init__(self, embedding_size=256, spectral_norm=False, **kwargs):
        """Creates the layer.

        Args:
          embedding_size: Positive int, size of the label embedding (TF-GAN:
            256).
          spectral_norm: If True, spectrally normalise the projection's kernel
            (as TF-GAN's spectrally normalised discriminators do).
          **kwargs: Base `keras.layers.Layer` arguments, such as `name`.
        """
        super().__init__(**kwargs)
        is_int = isinstance(embedding_size, int) and not isinstance(embedding_size, bool)
        if not is_int or embedding_size < 1:
            raise ValueError(f"embedding_size must be a positive int, got {embedding_size!r}.")
        self.embedding_size = embedding_size
        self.spectral_norm = spectral_norm
        self.embedding = keras.layers.Dense(embedding_size, use_bias=False, name="embedding")
        self.projection = None  # Its width depends on the features: see build().

    def build(self, input_shape):
        features_shape, labels_shape = input_shape
        for argument, shape in (("features", features_shape), ("one_hot_labels", labels_shape)):
            if len(shape) != 2 or shape[-1] is None:
                raise ValueError(
                    f"OneHotConditioning expects {argument} of shape [batch, size] with a "
                    f"known size, got {tuple(shape)}."
                )
        projection = keras.layers.Dense(features_shape[-1], name="projection")
        if self.spectral_norm:
            projection = SpectralNormalization(projection, name="spectral_norm_projection")
        self.projection = projection
        self.embedding.build(labels_shape)
        self.projection.build((None, self.embedding_size))

    def call(self, inputs):
        features, one_hot_labels = inputs
        return features + self.projection(self.embedding(one_hot_labels))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(embedding_size=self.embedding_size, spectral_norm=self.spectral_norm)
        return config
