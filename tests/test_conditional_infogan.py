"""Conditional GAN, ACGAN and InfoGAN training models, and exporting their generators.

Tiny networks (`models.mnist.TINY_SIZES`) on a slice of real MNIST (or synthetic
data where real images add nothing), so the whole file runs in well under a
minute on 2 CPU cores.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from models import mnist as networks
from tfgan_losses.data import load_mnist
from tfgan_losses.distributions import Categorical, Normal
from tfgan_losses.losses.mutual_information import mutual_information_penalty
from tfgan_losses.training.conditional import ConditionalGANModel
from tfgan_losses.training.export import export_generator
from tfgan_losses.training.infogan import InfoGANModel

NOISE_DIMS = 8
NUM_CLASSES = 10
CATEGORICAL_DIM = 10
CONTINUOUS_DIM = 2
BATCH = 32
EMBEDDING = 4


# ------------------------------------------------------------------ helpers
def _conditional_generator():
    return networks.conditional_generator(NOISE_DIMS, NUM_CLASSES, embedding_size=EMBEDDING,
                                          **networks.TINY_SIZES)


def _conditional_discriminator():
    return networks.conditional_discriminator(NUM_CLASSES, embedding_size=EMBEDDING,
                                              **networks.TINY_SIZES)


def _acgan_discriminator():
    """Images only -> (logits [batch, 1], class_logits [batch, 10]); no batch norm."""
    images = keras.Input((28, 28, 1), name="images")
    net = layers.Conv2D(4, 4, strides=4, activation="relu")(images)
    net = layers.Flatten()(net)
    logits = layers.Dense(1, name="logits")(net)
    class_logits = layers.Dense(NUM_CLASSES, name="class_logits")(net)
    return keras.Model(images, (logits, class_logits), name="acgan_discriminator")


def _infogan_generator():
    return networks.infogan_generator(NOISE_DIMS, CATEGORICAL_DIM, CONTINUOUS_DIM,
                                      **networks.TINY_SIZES)


def _infogan_discriminator():
    # No spectral norm: its training calls rescale kernels in place, which would
    # perturb the direct penalty evaluations below.
    return networks.infogan_discriminator(CATEGORICAL_DIM, CONTINUOUS_DIM,
                                          spectral_norm=False, **networks.TINY_SIZES)


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def _changed(before, after):
    return any(not np.allclose(a, b) for a, b in zip(before, after))


def _finite_logs(history):
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), (name, values)


def _np_softmax_ce(one_hot, logits):
    """Mean over the batch of -sum(y * log_softmax(logits)), in float64."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(np.mean(-(np.asarray(one_hot, np.float64) * log_softmax).sum(axis=-1)))


@pytest.fixture(scope="module")
def labelled_mnist(mnist_dir, mnist_data_dir):
    """A few batches of real MNIST `(images, one_hot_labels)`, cached in memory."""
    dataset = load_mnist("train[:1%]", BATCH, with_labels=True, seed=0, mnist_dir=mnist_dir,
                         data_dir=mnist_data_dir)
    batches = list(dataset.take(8))
    images = np.concatenate([np.asarray(images) for images, _ in batches])
    labels = np.concatenate([np.asarray(labels) for _, labels in batches])
    assert images.shape == (8 * BATCH, 28, 28, 1) and labels.shape == (8 * BATCH, NUM_CLASSES)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)


@pytest.fixture(scope="module")
def mnist_images(labelled_mnist):
    return labelled_mnist.map(lambda images, labels: images)


# ------------------------------------------------------- conditional GAN
def test_conditional_gan_fits_on_real_mnist_and_uses_the_labels(labelled_mnist):
    keras.utils.set_random_seed(0)
    gan = ConditionalGANModel(_conditional_generator(), _conditional_discriminator(), seed=1)
    gan.compile(generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss")
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    history = gan.fit(labelled_mnist.take(4), epochs=1, verbose=0)
    _finite_logs(history)
    assert {"discriminator_loss", "generator_loss"} <= set(history.history)
    assert _changed(g_before, _weights(gan.generator))
    assert _changed(d_before, _weights(gan.discriminator))

    # Same noise, different labels -> different images, in inference mode.
    noise = np.random.default_rng(0).normal(size=(NUM_CLASSES, NOISE_DIMS)).astype("float32")
    noise = np.repeat(noise[:1], NUM_CLASSES, axis=0)
    labels = np.eye(NUM_CLASSES, dtype="float32")
    images = np.asarray(gan.generator([noise, labels], training=False))
    again = np.asarray(gan([noise, labels], training=False))
    np.testing.assert_allclose(images, again, atol=1e-6)  # Deterministic in inference.
    rolled = np.asarray(gan.generator([noise, np.roll(labels, 1, axis=0)], training=False))
    assert images.shape == (NUM_CLASSES, 28, 28, 1)
    for i in range(NUM_CLASSES):
        for j in range(i + 1, NUM_CLASSES):
            assert np.abs(images[i] - images[j]).max() > 1e-4, (i, j)
    assert np.abs(images - rolled).max(axis=(1, 2, 3)).min() > 1e-4


def test_conditional_gan_rejects_unlabelled_data_and_one_input_generators(mnist_images):
    gan = ConditionalGANModel(_conditional_generator(), _conditional_discriminator())
    gan.compile()
    with pytest.raises(ValueError, match="one_hot_labels"):
        gan.fit(mnist_images.take(1), epochs=1, verbose=0)

    with pytest.raises(ValueError, match="two inputs"):
        ConditionalGANModel(networks.unconditional_generator(NOISE_DIMS, **networks.TINY_SIZES),
                            _conditional_discriminator())
    for weight in ("aux_cond_generator_weight", "aux_cond_discriminator_weight"):
        with pytest.raises(ValueError, match=weight):
            ConditionalGANModel(_conditional_generator(), _acgan_discriminator(),
                                **{weight: -0.5})


def test_conditional_gan_compile_asks_to_build_a_network_it_cannot_call():
    # Its generator inputs need the dataset's labels, so compile cannot sample a batch.
    discriminator = keras.Sequential([layers.Flatten(), layers.Dense(1)])  # Not built.
    gan = ConditionalGANModel(_conditional_generator(), discriminator)
    with pytest.raises(ValueError, match="The discriminator is not built"):
        gan.compile()


def test_conditional_gan_keras_round_trip_keeps_acgan_weights(tmp_path, labelled_mnist):
    gan = ConditionalGANModel(_conditional_generator(), _conditional_discriminator(),
                              aux_cond_generator_weight=0.25, aux_cond_discriminator_weight=0.0,
                              seed=3)
    gan.compile(generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss")
    path = tmp_path / "conditional.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is ConditionalGANModel
    assert loaded.aux_cond_generator_weight == 0.25
    assert loaded.aux_cond_discriminator_weight == 0.0
    for a, b in zip(gan.generator.get_weights(), loaded.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    noise = np.ones((2, NOISE_DIMS), "float32")
    labels = np.eye(NUM_CLASSES, dtype="float32")[:2]
    np.testing.assert_allclose(np.asarray(loaded([noise, labels])),
                               np.asarray(gan([noise, labels])), atol=1e-6)


# ------------------------------------------------------------------- ACGAN
def test_acgan_auxiliary_losses_match_numpy_cross_entropy():
    gan = ConditionalGANModel(_conditional_generator(), _acgan_discriminator(),
                              aux_cond_generator_weight=0.5, aux_cond_discriminator_weight=2.0)
    rng = np.random.default_rng(1)
    labels = np.eye(NUM_CLASSES, dtype="float32")[rng.integers(0, NUM_CLASSES, 16)]
    real_class = rng.normal(size=(16, NUM_CLASSES)).astype("float32") * 3
    gen_class = rng.normal(size=(16, NUM_CLASSES)).astype("float32") * 3
    logits = np.zeros((16, 1), "float32")
    inputs = [np.zeros((16, NOISE_DIMS), "float32"), labels]
    expected_d = 2.0 * (_np_softmax_ce(labels, real_class) + _np_softmax_ce(labels, gen_class))
    expected_g = 0.5 * _np_softmax_ce(labels, gen_class)
    d_aux = gan.discriminator_auxiliary_loss(inputs, (logits, real_class), (logits, gen_class),
                                             labels)
    g_aux = gan.generator_auxiliary_loss(inputs, (logits, gen_class), labels)
    assert float(d_aux) == pytest.approx(expected_d, rel=1e-5)
    assert float(g_aux) == pytest.approx(expected_g, rel=1e-5)

    plain = ConditionalGANModel(_conditional_generator(), _acgan_discriminator())
    assert float(plain.discriminator_auxiliary_loss(inputs, (logits, real_class),
                                                    (logits, gen_class), labels)) == 0.0
    assert float(plain.generator_auxiliary_loss(inputs, (logits, gen_class), labels)) == 0.0


def test_acgan_fits_and_adds_the_class_loss_to_the_discriminator_loss(labelled_mnist):
    keras.utils.set_random_seed(2)
    generator, discriminator = _conditional_generator(), _acgan_discriminator()
    batch = next(iter(labelled_mnist))
    images, labels = np.asarray(batch[0]), np.asarray(batch[1])
    one_batch = tf.data.Dataset.from_tensors((images, labels))

    def make(weight):
        g, d = keras.models.clone_model(generator), keras.models.clone_model(discriminator)
        g.set_weights(generator.get_weights())
        d.set_weights(discriminator.get_weights())
        gan = ConditionalGANModel(g, d, aux_cond_generator_weight=weight,
                                  aux_cond_discriminator_weight=weight, seed=7)
        gan.compile(generator_loss="modified_generator_loss",
                    discriminator_loss="modified_discriminator_loss")
        return gan

    acgan, baseline = make(1.0), make(None)

    # The class loss the first discriminator update should add, in numpy: the
    # same noise the step draws (restore the seed state afterwards), the same
    # (batch-statistics) generator and discriminator outputs.
    state = acgan.seed_generator.state.numpy()
    noise, _ = acgan.sample_generator_inputs(images.shape[0], labels)
    acgan.seed_generator.state.assign(state)
    generated = acgan.generator([noise, tf.constant(labels)], training=True)
    _, real_class = acgan.discriminator(images, training=True)
    _, gen_class = acgan.discriminator(generated, training=True)
    expected_extra = _np_softmax_ce(labels, real_class) + _np_softmax_ce(labels, gen_class)
    assert expected_extra > 0.5  # ~2 log(10) for an untrained classifier head.

    acgan_logs = acgan.fit(one_batch, epochs=1, verbose=0).history
    baseline_logs = baseline.fit(one_batch, epochs=1, verbose=0).history
    _finite_logs(acgan.history)
    d_acgan = acgan_logs["discriminator_loss"][0]
    d_plain = baseline_logs["discriminator_loss"][0]
    assert d_acgan > d_plain
    assert d_acgan - d_plain == pytest.approx(expected_extra, rel=1e-3, abs=1e-4)
    assert acgan_logs["real_output_mean"][0] == pytest.approx(
        baseline_logs["real_output_mean"][0], abs=1e-5)

    # A few more steps on real data: still finite, both networks move.
    g_before, d_before = _weights(acgan.generator), _weights(acgan.discriminator)
    history = acgan.fit(labelled_mnist.take(3), epochs=1, verbose=0)
    _finite_logs(history)
    assert _changed(g_before, _weights(acgan.generator))
    assert _changed(d_before, _weights(acgan.discriminator))


# ------------------------------------------------------------------ InfoGAN
def _direct_penalty(gan, inputs):
    """The mutual-information penalty on fixed codes, batch-statistics forward passes."""
    generated = gan.generator(inputs, training=True)
    _, categorical_logits, continuous_mean = gan.discriminator(generated, training=True)
    return float(mutual_information_penalty(
        [np.argmax(inputs[1], axis=-1), inputs[2]],
        [Categorical(categorical_logits), Normal(continuous_mean, 1.0)]))


def test_infogan_samples_codes_of_the_right_shape_and_range():
    gan = InfoGANModel(_infogan_generator(), _infogan_discriminator(), seed=0)
    assert (gan.categorical_dim, gan.continuous_dim) == (CATEGORICAL_DIM, CONTINUOUS_DIM)
    noise, categorical, continuous = (np.asarray(x) for x in gan.sample_generator_inputs(500))
    assert noise.shape == (500, NOISE_DIMS)
    assert categorical.shape == (500, CATEGORICAL_DIM)
    assert set(np.unique(categorical)) <= {0.0, 1.0}
    np.testing.assert_array_equal(categorical.sum(axis=1), 1.0)
    assert len(np.unique(categorical.argmax(axis=1))) == CATEGORICAL_DIM  # All categories drawn.
    assert continuous.shape == (500, CONTINUOUS_DIM)
    assert continuous.min() >= -1.0 and continuous.max() <= 1.0
    assert continuous.min() < -0.8 and continuous.max() > 0.8  # Spans the range.


def test_infogan_rejects_bad_generators_and_negative_weights():
    with pytest.raises(ValueError, match="three inputs"):
        InfoGANModel(_conditional_generator(), _infogan_discriminator())
    with pytest.raises(ValueError, match="three inputs"):
        InfoGANModel(networks.unconditional_generator(NOISE_DIMS, **networks.TINY_SIZES),
                     _infogan_discriminator())
    with pytest.raises(ValueError, match="mutual_information_penalty_weight"):
        InfoGANModel(_infogan_generator(), _infogan_discriminator(),
                     mutual_information_penalty_weight=-1.0)


def test_infogan_training_decreases_the_mutual_information_penalty(mnist_images):
    keras.utils.set_random_seed(4)
    gan = InfoGANModel(_infogan_generator(), _infogan_discriminator(),
                       mutual_information_penalty_weight=1.0, seed=5)
    gan.compile(generator_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5),
                discriminator_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5),
                generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss")

    rng = np.random.default_rng(0)
    n = 256
    fixed = [rng.normal(size=(n, NOISE_DIMS)).astype("float32"),
             np.eye(CATEGORICAL_DIM, dtype="float32")[np.arange(n) % CATEGORICAL_DIM],
             rng.uniform(-1, 1, size=(n, CONTINUOUS_DIM)).astype("float32")]
    before = _direct_penalty(gan, fixed)

    class EpochPenalty(keras.callbacks.Callback):
        """Per-epoch mean penalty (Keras logs are running means within an epoch)."""

        def __init__(self):
            super().__init__()
            self.values = []

        def on_epoch_end(self, epoch, logs=None):
            self.values.append(logs["mutual_information_penalty"])

    recorder = EpochPenalty()
    # 8 epochs of 5 steps = 40 steps on real MNIST.
    history = gan.fit(mnist_images.take(5), epochs=8, verbose=0, callbacks=[recorder])
    _finite_logs(history)
    after = _direct_penalty(gan, fixed)

    values = recorder.values
    assert len(values) == 8
    assert np.mean(values[-2:]) < np.mean(values[:2]) - 0.05, values
    assert after < before - 0.1, (before, after)


# ------------------------------------------------------------------- export
def _signature_input_names(signature):
    _, kwargs = signature.structured_input_signature
    return set(kwargs)


def test_exported_conditional_generator_takes_noise_and_labels(tmp_path):
    keras.utils.set_random_seed(6)
    generator = _conditional_generator()
    export_dir = export_generator(generator, str(tmp_path / "conditional"))
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    assert _signature_input_names(serve) == {"noise", "one_hot_labels"}
    rng = np.random.default_rng(2)
    noise = rng.normal(size=(5, NOISE_DIMS)).astype("float32")
    labels = np.eye(NUM_CLASSES, dtype="float32")[[0, 3, 5, 7, 9]]
    images = serve(noise=tf.constant(noise), one_hot_labels=tf.constant(labels))["images"]
    expected = generator([noise, labels], training=False)
    assert images.shape == (5, 28, 28, 1) and images.dtype == tf.float32
    np.testing.assert_allclose(images.numpy(), np.asarray(expected), atol=1e-5)


def test_exported_infogan_generator_takes_noise_and_both_codes(tmp_path):
    keras.utils.set_random_seed(7)
    generator = _infogan_generator()
    export_dir = export_generator(generator, str(tmp_path / "infogan"))
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    assert _signature_input_names(serve) == {"unstructured_noise", "categorical_code",
                                             "continuous_code"}
    rng = np.random.default_rng(3)
    inputs = {
        "unstructured_noise": rng.normal(size=(4, NOISE_DIMS)).astype("float32"),
        "categorical_code": np.eye(CATEGORICAL_DIM, dtype="float32")[[1, 2, 3, 4]],
        "continuous_code": rng.uniform(-1, 1, size=(4, CONTINUOUS_DIM)).astype("float32"),
    }
    images = serve(**{k: tf.constant(v) for k, v in inputs.items()})["images"]
    expected = generator([inputs["unstructured_noise"], inputs["categorical_code"],
                          inputs["continuous_code"]], training=False)
    assert images.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(images.numpy(), np.asarray(expected), atol=1e-5)
    # The codes matter: changing the categorical code changes the images.
    other = serve(unstructured_noise=tf.constant(inputs["unstructured_noise"]),
                  categorical_code=tf.constant(np.roll(inputs["categorical_code"], 1, axis=1)),
                  continuous_code=tf.constant(inputs["continuous_code"]))["images"]
    assert np.abs(other.numpy() - images.numpy()).max() > 1e-5
