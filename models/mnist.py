"""TF-GAN's MNIST generators and discriminators as Keras 3 functional models.

Port of `tensorflow_gan/examples/mnist/networks.py`
(https://github.com/tensorflow/gan/blob/master/tensorflow_gan/examples/mnist/networks.py):
DCGAN-style networks (https://arxiv.org/abs/1511.06434) in three flavours,

* unconditional: noise -> image, image -> logits;
* conditional on a one-hot class label (https://arxiv.org/abs/1411.1784),
  through `OneHotConditioning`;
* InfoGAN (https://arxiv.org/abs/1606.03657): the generator also takes a
  categorical and a continuous code, which the discriminator predicts back.

Images are [batch, 28, 28, 1] in [-1, 1] (the generators end in tanh), the
range of `tfgan_losses.data.load_mnist`. Discriminators return unbounded
logits of shape [batch, 1].

Defaults reproduce TF-GAN's sizes (about 6.7 M generator and 6.6 M
discriminator parameters); the size arguments shrink them, e.g.
`unconditional_generator(8, **TINY_SIZES)` for fast tests.

Differences from TF-GAN:

* Batch normalisation follows Keras's `training` flag; TF-GAN's
  discriminator always normalises with batch statistics.
* The InfoGAN generator takes the categorical code one-hot, not as class ids.
* The stored spectral-normalization vector `u` advances once per training
  call, in call order; TF-GAN's graph ran the real and generated calls'
  power iterations concurrently, so it advanced one or two rounds per step.
"""

import keras
from keras import layers

from tfgan_losses.features import OneHotConditioning, SpectralNormalization

WEIGHT_DECAY = 2.5e-5
"""TF-GAN's L2 weight decay, applied to the kernels as `keras.regularizers.L2` (to
`W / sigma`, once per call, for spectrally normalised kernels, as in TF-GAN)."""

TINY_SIZES = {"hidden_units": 8, "base_filters": 2}
"""Size arguments for networks of a few thousand parameters, for fast tests.

The conditional builders also need a small `embedding_size` (e.g. 4) to stay tiny.
"""

BATCH_NORM_MOMENTUM = 0.999
"""TF-GAN's batch-norm momentum: moving statistics average over ~1000 updates."""

_LEAKY_RELU_SLOPE = 0.01
_KERNEL_SIZE = 4


def _check_positive_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument} must be a positive int, got {value!r}.")


def _check_image_shape(image_shape, multiple_of=1):
    valid = isinstance(image_shape, (tuple, list)) and len(image_shape) == 3 and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in image_shape
    )
    if not valid or image_shape[0] % multiple_of or image_shape[1] % multiple_of:
        raise ValueError(
            "image_shape must be (height, width, channels) of positive ints, with height and "
            f"width multiples of {multiple_of}, got {image_shape!r}."
        )


def _batch_norm(momentum=BATCH_NORM_MOMENTUM):
    """Batch normalisation with TF-GAN's epsilon 0.001 (and by default its momentum).

    On TensorFlow, synchronized across `tf.distribute` replicas, so that a
    distributed step normalises with the global batch's statistics, as one
    device does (Keras synchronizes on that backend only).
    """
    return layers.BatchNormalization(momentum=momentum, epsilon=0.001,
                                     synchronized=keras.backend.backend() == "tensorflow")


def _generator_body(inputs, *, image_shape, hidden_units, base_filters, weight_decay,
                    condition=None, batch_norm_momentum=BATCH_NORM_MOMENTUM):
    """Maps a [batch, features] tensor to images in [-1, 1] (TF-GAN's `generator_helper`).

    Dense(hidden_units) -> Dense to a 4x-downsampled grid of 4 * base_filters
    channels -> two stride-2 transposed convolutions (2 * base_filters, then
    base_filters channels) -> convolution to the image channels -> tanh.
    Batch normalisation and ReLU follow every layer but the last. `condition`,
    if given, maps the first hidden features to conditioned ones.
    """
    regularizer = keras.regularizers.L2(weight_decay)
    height, width, channels = image_shape
    grid_shape = (height // 4, width // 4, 4 * base_filters)

    net = layers.Dense(hidden_units, use_bias=False, kernel_regularizer=regularizer)(inputs)
    net = layers.ReLU()(_batch_norm(batch_norm_momentum)(net))
    if condition is not None:
        net = condition(net)

    net = layers.Dense(grid_shape[0] * grid_shape[1] * grid_shape[2], use_bias=False,
                       kernel_regularizer=regularizer)(net)
    net = layers.ReLU()(_batch_norm(batch_norm_momentum)(net))
    net = layers.Reshape(grid_shape)(net)

    for filters in (2 * base_filters, base_filters):
        net = layers.Conv2DTranspose(filters, _KERNEL_SIZE, strides=2, padding="same",
                                     kernel_regularizer=regularizer)(net)
        net = layers.ReLU()(_batch_norm(batch_norm_momentum)(net))

    return layers.Conv2D(channels, _KERNEL_SIZE, padding="same", activation="tanh",
                         kernel_regularizer=regularizer, name="images")(net)


def _discriminator_body(images, *, hidden_units, base_filters, weight_decay, spectral_norm,
                        condition=None):
    """Maps images to [batch, hidden_units] features (TF-GAN's `discriminator_helper`).

    Two stride-2 convolutions (base_filters, then 2 * base_filters channels)
    with leaky ReLU (slope 0.01) -> flatten -> Dense(hidden_units) + batch
    normalisation + leaky ReLU. `condition`, if given, maps the flattened
    features to conditioned ones. With `spectral_norm`, every kernel is
    spectrally normalised.
    """
    regularizer = keras.regularizers.L2(weight_decay)

    def maybe_normalised(layer):
        return SpectralNormalization(layer) if spectral_norm else layer

    net = images
    for filters in (base_filters, 2 * base_filters):
        net = maybe_normalised(layers.Conv2D(filters, _KERNEL_SIZE, strides=2, padding="same",
                                             kernel_regularizer=regularizer))(net)
        net = layers.LeakyReLU(negative_slope=_LEAKY_RELU_SLOPE)(net)
    net = layers.Flatten()(net)
    if condition is not None:
        net = condition(net)

    net = maybe_normalised(layers.Dense(hidden_units, use_bias=False,
                                        kernel_regularizer=regularizer))(net)
    return layers.LeakyReLU(negative_slope=_LEAKY_RELU_SLOPE)(_batch_norm()(net))


def unconditional_generator(noise_dims=64, image_shape=(28, 28, 1), *, hidden_units=1024,
                            base_filters=32, weight_decay=WEIGHT_DECAY,
                            batch_norm_momentum=BATCH_NORM_MOMENTUM):
    """Builds TF-GAN's unconditional MNIST generator.

    Architecture (defaults): Dense(1024) -> Dense(7*7*128) -> reshape ->
    ConvTranspose(64, 4x4, stride 2) -> ConvTranspose(32, 4x4, stride 2), each
    followed by batch normalisation and ReLU -> Conv(1, 4x4) -> tanh. Dense
    layers have no bias; every kernel has L2 weight decay.

    Args:
      noise_dims: Size of the noise vector (TF-GAN's example: 64).
      image_shape: (height, width, channels) of the images; height and width
        must be multiples of 4.
      hidden_units: Width of the first dense layer (TF-GAN: 1024).
      base_filters: Channels of the last transposed convolution; the grid
        before it has 2x and the reshaped grid 4x as many (TF-GAN: 32).
      weight_decay: L2 factor of the kernel regularisers (TF-GAN: 2.5e-5).
      batch_norm_momentum: Momentum of the moving statistics that inference
        mode (and an exported generator) uses (TF-GAN: 0.999). Lower values
        track a changing generator more closely in short runs.

    Returns:
      A `keras.Model` mapping noise [batch, noise_dims] to images
      [batch, *image_shape] in [-1, 1].

    Example:

      generator = unconditional_generator(noise_dims=64)
      images = generator(keras.random.normal((16, 64)), training=True)
    """
    _check_positive_int("noise_dims", noise_dims)
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape, multiple_of=4)
    noise = keras.Input((noise_dims,), name="noise")
    images = _generator_body(noise, image_shape=image_shape, hidden_units=hidden_units,
                             base_filters=base_filters, weight_decay=weight_decay,
                             batch_norm_momentum=batch_norm_momentum)
    return keras.Model(noise, images, name="unconditional_generator")


def unconditional_discriminator(image_shape=(28, 28, 1), *, hidden_units=1024, base_filters=64,
                                weight_decay=WEIGHT_DECAY, spectral_norm=True):
    """Builds TF-GAN's unconditional MNIST discriminator.

    Architecture (defaults): Conv(64, 4x4, stride 2) -> Conv(128, 4x4,
    stride 2), each followed by leaky ReLU (slope 0.01) -> flatten ->
    Dense(1024, no bias) + batch normalisation + leaky ReLU -> Dense(1).
    Every kernel has L2 weight decay; those before the logits layer are
    spectrally normalised, as in TF-GAN.

    Args:
      image_shape: (height, width, channels) of the images.
      hidden_units: Width of the last hidden dense layer (TF-GAN: 1024).
      base_filters: Channels of the first convolution; the second has twice
        as many (TF-GAN: 64).
      weight_decay: L2 factor of the kernel regularisers (TF-GAN: 2.5e-5).
      spectral_norm: Whether to spectrally normalise the hidden layers'
        kernels (https://arxiv.org/abs/1802.05957), as TF-GAN does.

    Returns:
      A `keras.Model` mapping images [batch, *image_shape] in [-1, 1] to
      logits [batch, 1] (positive: judged real).

    Example:

      discriminator = unconditional_discriminator()
      logits = discriminator(images, training=True)  # [batch, 1]
    """
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    features = _discriminator_body(images, hidden_units=hidden_units, base_filters=base_filters,
                                   weight_decay=weight_decay, spectral_norm=spectral_norm)
    logits = layers.Dense(1, kernel_regularizer=keras.regularizers.L2(weight_decay),
                          name="logits")(features)
    return keras.Model(images, logits, name="unconditional_discriminator")


def conditional_generator(noise_dims=64, num_classes=10, image_shape=(28, 28, 1), *,
                          hidden_units=1024, base_filters=32, embedding_size=256,
                          weight_decay=WEIGHT_DECAY):
    """Builds TF-GAN's class-conditional MNIST generator.

    `unconditional_generator` with the output of its first hidden layer
    conditioned on the label by `OneHotConditioning` (a learned embedding of
    the label, projected and added to the features).

    Args:
      noise_dims: Size of the noise vector.
      num_classes: Number of classes, the size of the one-hot labels.
      image_shape: (height, width, channels); height and width multiples of 4.
      hidden_units: Width of the first dense layer (TF-GAN: 1024).
      base_filters: Channels of the last transposed convolution (TF-GAN: 32).
      embedding_size: Size of the label embedding (TF-GAN: 256).
      weight_decay: L2 factor of the kernel regularisers (TF-GAN: 2.5e-5).

    Returns:
      A `keras.Model` mapping `[noise, one_hot_labels]` of shapes
      [batch, noise_dims] and [batch, num_classes] to images
      [batch, *image_shape] in [-1, 1].

    Example:

      generator = conditional_generator(noise_dims=64)
      labels = keras.ops.one_hot(keras.ops.arange(10), 10)
      digits = generator([keras.random.normal((10, 64)), labels])  # 0 to 9
    """
    _check_positive_int("noise_dims", noise_dims)
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape, multiple_of=4)
    noise = keras.Input((noise_dims,), name="noise")
    one_hot_labels = keras.Input((num_classes,), name="one_hot_labels")
    conditioning = OneHotConditioning(embedding_size)
    images = _generator_body(noise, image_shape=image_shape, hidden_units=hidden_units,
                             base_filters=base_filters, weight_decay=weight_decay,
                             condition=lambda net: conditioning([net, one_hot_labels]))
    return keras.Model([noise, one_hot_labels], images, name="conditional_generator")


def conditional_discriminator(num_classes=10, image_shape=(28, 28, 1), *, hidden_units=1024,
                              base_filters=64, embedding_size=256, weight_decay=WEIGHT_DECAY,
                              spectral_norm=True):
    """Builds TF-GAN's class-conditional MNIST discriminator.

    `unconditional_discriminator` with its flattened convolutional features
    conditioned on the label by `OneHotConditioning` before the hidden dense
    layer.

    Args:
      num_classes: Number of classes, the size of the one-hot labels.
      image_shape: (height, width, channels) of the images.
      hidden_units: Width of the last hidden dense layer (TF-GAN: 1024).
      base_filters: Channels of the first convolution (TF-GAN: 64).
      embedding_size: Size of the label embedding (TF-GAN: 256).
      weight_decay: L2 factor of the kernel regularisers (TF-GAN: 2.5e-5).
      spectral_norm: Whether to spectrally normalise the hidden layers'
        kernels, including the label projection, as TF-GAN does.

    Returns:
      A `keras.Model` mapping `[images, one_hot_labels]` of shapes
      [batch, *image_shape] and [batch, num_classes] to logits [batch, 1].

    Example:

      discriminator = conditional_discriminator()
      logits = discriminator([images, one_hot_labels], training=True)
    """
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    one_hot_labels = keras.Input((num_classes,), name="one_hot_labels")
    conditioning = OneHotConditioning(embedding_size, spectral_norm=spectral_norm)
    features = _discriminator_body(images, hidden_units=hidden_units, base_filters=base_filters,
                                   weight_decay=weight_decay, spectral_norm=spectral_norm,
                                   condition=lambda net: conditioning([net, one_hot_labels]))
    logits = layers.Dense(1, kernel_regularizer=keras.regularizers.L2(weight_decay),
                          name="logits")(features)
    return keras.Model([images, one_hot_labels], logits, name="conditional_discriminator")


def infogan_generator(noise_dims=62, categorical_dim=10, continuous_dim=2,
                      image_shape=(28, 28, 1), *, hidden_units=1024, base_filters=32,
                      weight_decay=WEIGHT_DECAY):
    """Builds TF-GAN's InfoGAN MNIST generator.

    The unstructured noise and the two structured codes are concatenated and
    fed to the `unconditional_generator` architecture.

    Args:
      noise_dims: Size of the unstructured noise (TF-GAN's example: 62).
      categorical_dim: Number of categories of the categorical code.
      continuous_dim: Size of the continuous code.
      image_shape: (height, width, channels); height and width multiples of 4.
      hidden_units: Width of the first dense layer (TF-GAN: 1024).
      base_filters: Channels of the last transposed convolution (TF-GAN: 32).
      weight_decay: L2 factor of the kernel regularisers (TF-GAN: 2.5e-5).

    Returns:
      A `keras.Model` mapping `[unstructured_noise, categorical_code,
      continuous_code]` of shapes [batch, noise_dims], [batch,
      categorical_dim] (one-hot) and [batch, continuous_dim] to images
      [batch, *image_shape] in [-1, 1].

    Example:

      generator = infogan_generator()
      codes = keras.ops.one_hot(keras.random.randint((16,), 0, 10), 10)
      images = generator([keras.random.normal((16, 62)), codes,
                          keras.random.uniform((16, 2), -1, 1)])
    """
    _check_positive_int("noise_dims", noise_dims)
    _check_positive_int("categorical_dim", categorical_dim)
    _check_positive_int("continuous_dim", continuous_dim)
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape, multiple_of=4)
    unstructured_noise = keras.Input((noise_dims,), name="unstructured_noise")
    categorical_code = keras.Input((categorical_dim,), name="categorical_code")
    continuous_code = keras.Input((continuous_dim,), name="continuous_code")
    all_noise = layers.Concatenate()([unstructured_noise, categorical_code, continuous_code])
    images = _generator_body(all_noise, image_shape=image_shape, hidden_units=hidden_units,
                             base_filters=base_filters, weight_decay=weight_decay)
    return keras.Model([unstructured_noise, categorical_code, continuous_code], images,
                       name="infogan_generator")


def infogan_discriminator(categorical_dim=10, continuous_dim=2, image_shape=(28, 28, 1), *,
                          hidden_units=1024, base_filters=64, weight_decay=WEIGHT_DECAY,
                          spectral_norm=True):
    """Builds TF-GAN's InfoGAN MNIST discriminator.

    The `unconditional_discriminator` trunk with three linear heads, without
    weight decay as in TF-GAN: the real/fake logits, the logits of a
    Categorical posterior over the categorical code, and the mean of a
    unit-variance Normal posterior over the continuous code.

    Args:
      categorical_dim: Number of categories of the categorical code.
      continuous_dim: Size of the continuous code.
      image_shape: (height, width, channels) of the images.
      hidden_units: Width of the last hidden dense layer (TF-GAN: 1024).
      base_filters: Channels of the first convolution (TF-GAN: 64).
      weight_decay: L2 factor of the trunk's kernel regularisers.
      spectral_norm: Whether to spectrally normalise the trunk's kernels.

    Returns:
      A `keras.Model` mapping images [batch, *image_shape] to a tuple
      `(logits, categorical_logits, continuous_mean)` of shapes [batch, 1],
      [batch, categorical_dim] and [batch, continuous_dim].

    Example:

      discriminator = infogan_discriminator()
      logits, categorical_logits, continuous_mean = discriminator(images)
    """
    _check_positive_int("categorical_dim", categorical_dim)
    _check_positive_int("continuous_dim", continuous_dim)
    _check_positive_int("hidden_units", hidden_units)
    _check_positive_int("base_filters", base_filters)
    _check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    features = _discriminator_body(images, hidden_units=hidden_units, base_filters=base_filters,
                                   weight_decay=weight_decay, spectral_norm=spectral_norm)
    logits = layers.Dense(1, name="logits")(features)
    categorical_logits = layers.Dense(categorical_dim, name="categorical_logits")(features)
    continuous_mean = layers.Dense(continuous_dim, name="continuous_mean")(features)
    return keras.Model(images, (logits, categorical_logits, continuous_mean),
                       name="infogan_discriminator")
