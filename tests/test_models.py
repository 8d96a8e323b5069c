"""Tests for models: TF-GAN's MNIST networks and the one-hot conditioning layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import models
from tfgan_losses.features import OneHotConditioning, SpectralNormalization
from power_iteration import power_iteration

BATCH = 4
NOISE_DIMS = 8
NUM_CLASSES = 10


def _trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def _images(seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32)


def _noise(dims=NOISE_DIMS, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=(BATCH, dims)).astype(np.float32)


def _one_hot(classes):
    return np.eye(NUM_CLASSES, dtype=np.float32)[classes]


def test_full_generator_has_tf_gan_sizes():
    generator = models.unconditional_generator(noise_dims=64)
    expected = (
        64 * 1024 + 2 * 1024  # Dense(1024), no bias; batch norm gamma and beta.
        + 1024 * 7 * 7 * 128 + 2 * 7 * 7 * 128  # Dense(7*7*128), no bias; batch norm.
        + 4 * 4 * 128 * 64 + 64 + 2 * 64  # ConvTranspose(64, 4x4); batch norm.
        + 4 * 4 * 64 * 32 + 32 + 2 * 32  # ConvTranspose(32, 4x4); batch norm.
        + 4 * 4 * 32 * 1 + 1  # Conv(1, 4x4).
    )
    assert _trainable_count(generator) == expected
    assert generator.output_shape == (None, 28, 28, 1)


def test_full_discriminator_has_tf_gan_sizes():
    discriminator = models.unconditional_discriminator()
    expected = (
        4 * 4 * 1 * 64 + 64  # Conv(64, 4x4, stride 2).
        + 4 * 4 * 64 * 128 + 128  # Conv(128, 4x4, stride 2).
        + 7 * 7 * 128 * 1024 + 2 * 1024  # Dense(1024), no bias; batch norm.
        + 1024 + 1  # Logits.
    )
    assert _trainable_count(discriminator) == expected
    assert discriminator.output_shape == (None, 1)


def test_full_conditional_and_infogan_networks_add_tf_gan_sized_parts():
    base_generator = _trainable_count(models.unconditional_generator(noise_dims=64))
    base_discriminator = _trainable_count(models.unconditional_discriminator())
    # Conditioning: embedding table [10, 256] and projection 256 -> features, with bias.
    assert _trainable_count(models.conditional_generator(noise_dims=64)) == (
        base_generator + 10 * 256 + 256 * 1024 + 1024)
    assert _trainable_count(models.conditional_discriminator()) == (
        base_discriminator + 10 * 256 + 256 * 7 * 7 * 128 + 7 * 7 * 128)
    # InfoGAN: 62 + 10 + 2 = 74 inputs instead of 64; two more output heads.
    assert _trainable_count(models.infogan_generator()) == base_generator + 10 * 1024
    assert _trainable_count(models.infogan_discriminator()) == (
        base_discriminator + 1024 * 10 + 10 + 1024 * 2 + 2)


@pytest.mark.parametrize("builder", [
    models.unconditional_generator, models.unconditional_discriminator,
    models.infogan_generator, models.infogan_discriminator,
])
def test_tiny_sizes_give_a_few_thousand_parameters(builder):
    assert builder(**models.TINY_SIZES).count_params() < 10_000


def test_unconditional_generator_maps_noise_to_images_in_range():
    generator = models.unconditional_generator(NOISE_DIMS, **models.TINY_SIZES)
    images = generator(_noise(scale=100.0), training=True).numpy()
    assert images.shape == (BATCH, 28, 28, 1)
    assert np.all(np.abs(images) <= 1.0)
    assert np.ptp(images) > 0.1  # Not a constant image.


def test_generator_output_shape_follows_image_shape():
    generator = models.unconditional_generator(NOISE_DIMS, image_shape=(32, 16, 3),
                                               **models.TINY_SIZES)
    assert generator(_noise()).shape == (BATCH, 32, 16, 3)


def test_unconditional_discriminator_returns_unbounded_logits():
    discriminator = models.unconditional_discriminator(**models.TINY_SIZES)
    logits = discriminator(_images(), training=True)
    assert logits.shape == (BATCH, 1)
    assert len(np.unique(logits.numpy())) == BATCH  # One logit per image.


def test_conditional_generator_depends_on_labels():
    generator = models.conditional_generator(NOISE_DIMS, embedding_size=4, **models.TINY_SIZES)
    noise = _noise()
    images_a = generator([noise, _one_hot([0, 1, 2, 3])]).numpy()
    images_b = generator([noise, _one_hot([4, 5, 6, 7])]).numpy()
    assert images_a.shape == (BATCH, 28, 28, 1)
    assert np.all(np.abs(images_a) <= 1.0)
    assert not np.allclose(images_a, images_b)


def test_conditional_discriminator_depends_on_labels():
    discriminator = models.conditional_discriminator(embedding_size=4, **models.TINY_SIZES)
    images = _images()
    logits_a = discriminator([images, _one_hot([0, 1, 2, 3])]).numpy()
    logits_b = discriminator([images, _one_hot([4, 5, 6, 7])]).numpy()
    assert logits_a.shape == (BATCH, 1)
    assert not np.allclose(logits_a, logits_b)


def test_infogan_generator_depends_on_both_codes():
    generator = models.infogan_generator(NOISE_DIMS, categorical_dim=NUM_CLASSES, continuous_dim=2,
                                         **models.TINY_SIZES)
    noise, categorical, continuous = _noise(), _one_hot([0, 1, 2, 3]), _noise(dims=2, seed=1)
    images = generator([noise, categorical, continuous]).numpy()
    assert images.shape == (BATCH, 28, 28, 1)
    assert not np.allclose(images, generator([noise, _one_hot([4, 5, 6, 7]), continuous]))
    assert not np.allclose(images, generator([noise, categorical, continuous + 1.0]))


def test_infogan_discriminator_returns_logits_and_code_predictions():
    discriminator = models.infogan_discriminator(categorical_dim=NUM_CLASSES, continuous_dim=3,
                                                 **models.TINY_SIZES)
    logits, categorical_logits, continuous_mean = discriminator(_images(), training=True)
    assert logits.shape == (BATCH, 1)
    assert categorical_logits.shape == (BATCH, NUM_CLASSES)
    assert continuous_mean.shape == (BATCH, 3)


def test_weight_decay_is_l2_on_every_kernel():
    discriminator = models.unconditional_discriminator(weight_decay=0.5, spectral_norm=False,
                                                       **models.TINY_SIZES)
    kernels = [weight for weight in discriminator.trainable_weights if weight.name == "kernel"]
    assert len(kernels) == 4  # Two convolutions, the hidden dense layer, the logits.
    expected = 0.5 * sum(float(np.sum(np.square(kernel.numpy()))) for kernel in kernels)
    np.testing.assert_allclose(float(sum(discriminator.losses)), expected, rtol=1e-5)


def test_spectrally_normalised_kernels_decay_as_normalised_kernels_per_call():
    """TF-GAN's discriminator regularizes W / sigma for its three normalised kernels,
    at each call's sigma, and the logits kernel W itself."""
    discriminator = models.unconditional_discriminator(weight_decay=0.5, **models.TINY_SIZES)
    wrappers = [layer for layer in discriminator.layers
                if isinstance(layer, SpectralNormalization)]
    logits_kernel = discriminator.layers[-1].kernel.numpy()
    expected = [0.5 * np.sum(np.square(logits_kernel))]
    for wrapper in wrappers:  # The sigma this call computes: one round from the stored u.
        kernel = wrapper.layer.kernel.numpy()
        sigma, _ = power_iteration(kernel.reshape(-1, kernel.shape[-1]), wrapper.vector_u.numpy())
        expected.append(0.5 * np.sum(np.square(kernel / sigma)))

    discriminator(_images(), training=True)

    np.testing.assert_allclose(sorted(float(loss) for loss in discriminator.losses),
                               sorted(expected), rtol=1e-4)


def test_spectral_norm_divides_hidden_kernels_by_their_largest_singular_value():
    keras.utils.set_random_seed(0)  # Power iteration converges at a rate set by the weights.
    discriminator = models.unconditional_discriminator(**models.TINY_SIZES)
    wrappers = [layer for layer in discriminator.layers
                if isinstance(layer, SpectralNormalization)]
    assert len(wrappers) == 3  # Two convolutions and the hidden dense layer.
    for _ in range(50):  # One power iteration per training call.
        discriminator(_images(), training=True)
    for wrapper in wrappers:
        kernel = wrapper.layer.kernel.numpy()
        matrix = kernel.reshape(-1, kernel.shape[-1])
        np.testing.assert_allclose(float(wrapper.spectral_norm()), np.linalg.norm(matrix, ord=2),
                                   rtol=0.01)


@pytest.mark.parametrize("spectral_norm, normalised_kernels", [(True, 4), (False, 0)])
def test_spectral_norm_flag_covers_the_conditioning(spectral_norm, normalised_kernels):
    discriminator = models.conditional_discriminator(spectral_norm=spectral_norm, embedding_size=4,
                                                     **models.TINY_SIZES)
    # Two convolutions, the label projection and the hidden dense layer.
    power_iteration_vectors = [w for w in discriminator.weights if w.name == "vector_u"]
    assert len(power_iteration_vectors) == normalised_kernels


def test_gradients_reach_every_generator_weight():
    generator = models.conditional_generator(NOISE_DIMS, embedding_size=4, **models.TINY_SIZES)
    discriminator = models.conditional_discriminator(embedding_size=4, **models.TINY_SIZES)
    labels = tf.constant(_one_hot([0, 1, 2, 3]))  # Keras rejects a mix of tensors and arrays.
    with tf.GradientTape() as tape:
        images = generator([tf.constant(_noise()), labels], training=True)
        logits = discriminator([images, labels], training=True)
        loss = tf.reduce_mean(logits)
    gradients = tape.gradient(loss, generator.trainable_weights)
    assert all(gradient is not None for gradient in gradients)


def test_networks_under_xla_match_graph_mode():
    sizes = {"hidden_units": 8, "base_filters": 16}
    generator = models.unconditional_generator(NOISE_DIMS, **sizes)
    discriminator = models.unconditional_discriminator(**sizes)
    noise = tf.constant(_noise())
    weights = generator.trainable_weights + discriminator.trainable_weights

    def logits_and_gradients(jit_compile):
        @tf.function(jit_compile=jit_compile)
        def call(noise):
            with tf.GradientTape() as tape:
                logits = discriminator(generator(noise, training=True), training=True)
                loss = tf.reduce_sum(logits * tf.range(float(BATCH))[:, None])
            return logits, tape.gradient(loss, weights)

        return call(noise)

    # Training calls update spectral norm's power iteration: start both from the same state.
    initial_state = [generator.get_weights(), discriminator.get_weights()]
    graph_logits, graph_gradients = logits_and_gradients(jit_compile=False)
    generator.set_weights(initial_state[0])
    discriminator.set_weights(initial_state[1])
    xla_logits, xla_gradients = logits_and_gradients(jit_compile=True)
    np.testing.assert_allclose(xla_logits, graph_logits, rtol=1e-4, atol=1e-5)
    # The convolution biases feed batch norm, so their gradients are round-off around 0:
    # compare every gradient on the scale of the largest.
    scale = max(float(tf.reduce_max(tf.abs(gradient))) for gradient in graph_gradients)
    for xla_gradient, graph_gradient in zip(xla_gradients, graph_gradients):
        np.testing.assert_allclose(xla_gradient, graph_gradient, rtol=1e-3, atol=1e-5 * scale)


@pytest.mark.parametrize("builder, kwargs, argument", [
    (models.unconditional_generator, {"noise_dims": 0}, "noise_dims"),
    (models.unconditional_generator, {"image_shape": (30, 30, 1)}, "image_shape"),
    (models.unconditional_generator, {"image_shape": (28, 28)}, "image_shape"),
    (models.unconditional_discriminator, {"hidden_units": 2.5}, "hidden_units"),
    (models.conditional_generator, {"num_classes": -1}, "num_classes"),
    (models.conditional_discriminator, {"embedding_size": 0}, "embedding_size"),
    (models.infogan_generator, {"continuous_dim": 0}, "continuous_dim"),
    (models.infogan_discriminator, {"categorical_dim": True}, "categorical_dim"),
])
def test_invalid_sizes_name_the_argument(builder, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        builder(**kwargs)


def test_one_hot_conditioning_adds_projected_embedding():
    layer = OneHotConditioning(embedding_size=3)
    features = np.arange(2 * 5, dtype=np.float32).reshape(2, 5)
    labels = _one_hot([1, 7])
    outputs = layer([features, labels]).numpy()
    embedding = layer.embedding.kernel.numpy()
    projection = layer.projection
    expected = features + embedding[[1, 7]] @ projection.kernel.numpy() + projection.bias.numpy()
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)


def test_one_hot_conditioning_rejects_unflattened_features():
    with pytest.raises(ValueError, match="features"):
        OneHotConditioning()([keras.Input((7, 7, 4)), keras.Input((NUM_CLASSES,))])


def test_conditional_models_survive_a_keras_save_and_load(tmp_path):
    discriminator = models.conditional_discriminator(embedding_size=4, **models.TINY_SIZES)
    path = tmp_path / "discriminator.keras"
    discriminator.save(path)
    restored = keras.models.load_model(path)
    inputs = [_images(), _one_hot([0, 1, 2, 3])]
    # atol: an untrained discriminator's logits can be near 0.
    np.testing.assert_allclose(restored(inputs).numpy(), discriminator(inputs).numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("builder", [
    models.unconditional_generator, models.unconditional_discriminator,
    models.conditional_generator, models.conditional_discriminator,
    models.infogan_generator, models.infogan_discriminator,
])
def test_networks_use_only_keras_layers_and_the_library_features(builder):
    """Plain Keras networks: every layer is Keras's own or one of `tfgan_losses.features`,
    so the networks run on any backend and their .keras files load with the library."""
    network = builder(**models.TINY_SIZES)
    for layer in network._flatten_layers(include_self=False, recursive=True):
        module = type(layer).__module__
        assert module.startswith(("keras.", "tfgan_losses.features.")), (layer.name, module)


def test_models_package_does_not_import_tensorflow():
    import ast
    from pathlib import Path

    for path in Path(models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "tensorflow" for name in names), path
