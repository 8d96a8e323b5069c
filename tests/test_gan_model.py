"""Tests for tfgan_losses.training.gan_model.GANModel, trained with `fit` on real MNIST.

Most tests use hand-made Dense networks (a few thousand parameters: quick to
trace); the `.keras` round trip uses TF-GAN's tiny MNIST networks, whose batch
normalisation and spectral normalisation add non-trainable state to carry over.
Behaviour inside a train step (weight clipping after each discriminator update,
the slice each update sees) is recorded with `tf.py_function` from a test
subclass, so it is observed in graph mode too, not only after `fit`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import tfgan_losses
from models import mnist as mnist_networks
from tfgan_losses import data
from tfgan_losses.training.callbacks import ClipWeights, TerminateOnNonFinite
from tfgan_losses.training.gan_model import GANModel

NOISE_DIMS = 4
SLICE = 8  # Examples per discriminator update.
LOG_KEYS = {"discriminator_loss", "generator_loss", "real_output_mean", "generated_output_mean"}


# --------------------------------------------------------------------------- helpers
def dense_generator(noise_dims=NOISE_DIMS):
    noise = keras.Input((noise_dims,))
    net = keras.layers.Dense(16, activation="relu")(noise)
    net = keras.layers.Dense(28 * 28, activation="tanh")(net)
    return keras.Model(noise, keras.layers.Reshape((28, 28, 1))(net), name="generator")


def dense_discriminator():
    images = keras.Input((28, 28, 1))
    net = keras.layers.Flatten()(images)
    net = keras.layers.Dense(16)(net)
    net = keras.layers.LeakyReLU(negative_slope=0.2)(net)
    return keras.Model(images, keras.layers.Dense(1)(net), name="discriminator")


def dense_gan(init_seed=0, gan_class=GANModel, **kwargs):
    """A GAN of Dense networks initialised from `init_seed`; noise seed `init_seed` too
    unless `seed` is given."""
    keras.utils.set_random_seed(init_seed)
    kwargs.setdefault("seed", init_seed)
    return gan_class(dense_generator(), dense_discriminator(), **kwargs)


def batches(images, batch_size):
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True)


def snapshot(model):
    return [v.numpy() for v in model.weights]


def changed(before, model):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, model.weights)]


def assert_finite_logs(history, expected_keys):
    assert set(history.history) == expected_keys
    for key, values in history.history.items():
        assert np.all(np.isfinite(values)), (key, values)


class Recorder:
    """Plain list holder (a list attribute on a Keras model would be wrapped)."""

    def __init__(self):
        self.max_abs_weight = []   # After each discriminator update.
        self.real_slices = []      # Pixel (0, 0) of each example each update saw.

    def record_max(self, value):
        self.max_abs_weight.append(float(value))

    def record_slice(self, values):
        self.real_slices.append(values.numpy().copy())


class InstrumentedGAN(GANModel):
    """Records, after every discriminator update, max |w| of the discriminator's
    trainable weights and the real slice the update trained on."""

    def __init__(self, *args, recorder=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorder = recorder

    def _discriminator_update(self, real_data, labels):
        super()._discriminator_update(real_data, labels)
        # Automatic control dependencies order these reads and the py_functions
        # after the update's (and the clip's) variable assignments.
        max_abs = ops.max(ops.stack(
            [ops.max(ops.abs(v)) for v in self.discriminator.trainable_variables]))
        tf.py_function(self.recorder.record_max, [max_abs], [])
        tf.py_function(self.recorder.record_slice, [real_data[:, 0, 0, 0]], [])


@pytest.fixture(scope="module")
def mnist_images(mnist_dir, mnist_data_dir):
    """96 real MNIST test images in [-1, 1], [96, 28, 28, 1] float32."""
    dataset = data.load_mnist("test[:96]", batch_size=96, shuffle=False, mnist_dir=mnist_dir,
                              data_dir=mnist_data_dir)
    images = next(iter(dataset)).numpy()
    assert images.shape == (96, 28, 28, 1)
    return images


# ------------------------------------------------------------------ loss families
LOSS_SETUPS = {
    "minimax": dict(generator_loss="minimax_generator_loss",
                    discriminator_loss="minimax_discriminator_loss"),
    "modified": dict(generator_loss="modified_generator_loss",
                     discriminator_loss="modified_discriminator_loss"),
    "wasserstein_clip": dict(generator_loss="wasserstein_generator_loss",
                             discriminator_loss="wasserstein_discriminator_loss"),
    "wasserstein_gp": dict(generator_loss="wasserstein_generator_loss",
                           discriminator_loss="wasserstein_discriminator_loss",
                           gradient_penalty_weight=10.0),
    "least_squares": dict(generator_loss="least_squares_generator_loss",
                          discriminator_loss="least_squares_discriminator_loss"),
    "relativistic": dict(generator_loss="relativistic_generator_loss",
                         discriminator_loss="relativistic_discriminator_loss"),
    "hinge": dict(generator_loss="wasserstein_hinge_generator_loss",
                  discriminator_loss="wasserstein_hinge_discriminator_loss"),
}


@pytest.mark.parametrize("setup", list(LOSS_SETUPS))
def test_one_epoch_of_each_loss_family_trains_both_networks(setup, mnist_images):
    gan = dense_gan()
    gan.compile(generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                discriminator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                **LOSS_SETUPS[setup])
    callbacks = [TerminateOnNonFinite()]
    if setup == "wasserstein_clip":
        callbacks.append(ClipWeights(0.01))
    generator_before, discriminator_before = snapshot(gan.generator), snapshot(gan.discriminator)

    history = gan.fit(batches(mnist_images[:3 * SLICE], SLICE), epochs=1, verbose=0,
                      callbacks=callbacks)

    keys = LOG_KEYS | ({"gradient_penalty"} if setup == "wasserstein_gp" else set())
    assert_finite_logs(history, keys)
    assert int(gan.discriminator_optimizer.iterations) == 3
    assert int(gan.generator_optimizer.iterations) == 3 and gan.global_step == 3
    assert all(changed(generator_before, gan.generator))
    expected = [True] * len(discriminator_before)
    if setup.startswith("wasserstein"):
        expected[-1] = False  # E[D(G(z))] - E[D(x)] (and the penalty) ignore the logits' bias.
    assert changed(discriminator_before, gan.discriminator) == expected
    if setup == "wasserstein_clip":
        for variable in gan.discriminator.trainable_variables:
            assert np.max(np.abs(variable.numpy())) <= np.float32(0.01)
    if setup == "wasserstein_gp":
        assert history.history["gradient_penalty"][0] > 0


def test_loss_objects_and_plain_functions_are_accepted(mnist_images):
    gan = dense_gan()
    gan.compile(
        generator_loss=tfgan_losses.ModifiedGeneratorLoss(label_smoothing=0.1),
        discriminator_loss=lambda real, generated: tfgan_losses.modified_discriminator_loss(
            real, generated, label_smoothing=0.0),
        run_eagerly=True)
    history = gan.fit(batches(mnist_images[:2 * SLICE], SLICE), epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS)


# -------------------------------------------------------------- execution modes
MODES = {"eager": dict(run_eagerly=True), "graph": {}, "xla": dict(jit_compile=True)}


def _train_in_mode(mode, images, **gan_kwargs):
    gan = dense_gan(init_seed=3, discriminator_steps=2, **gan_kwargs)
    gan.compile(gradient_penalty_weight=1.0, **MODES[mode])  # Wasserstein + GP.
    generator_before = snapshot(gan.generator)
    history = gan.fit(batches(images[:3 * 2 * SLICE], 2 * SLICE), epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS | {"gradient_penalty"})
    assert int(gan.discriminator_optimizer.iterations) == 6
    assert int(gan.generator_optimizer.iterations) == 3
    assert all(changed(generator_before, gan.generator))
    return gan, history.history


def test_eager_and_graph_train_alike(mnist_images):
    eager_gan, eager_logs = _train_in_mode("eager", mnist_images)
    graph_gan, graph_logs = _train_in_mode("graph", mnist_images)
    # Same seeds, same ops: the modes agree up to floating-point round-off.
    for key in eager_logs:
        np.testing.assert_allclose(graph_logs[key], eager_logs[key], rtol=1e-3, atol=1e-5)
    for eager_weight, graph_weight in zip(eager_gan.weights, graph_gan.weights):
        np.testing.assert_allclose(graph_weight.numpy(), eager_weight.numpy(),
                                   rtol=1e-3, atol=1e-4)


def test_xla_trains(mnist_images):
    gan, logs = _train_in_mode("xla", mnist_images)
    assert gan.jit_compile


# ------------------------------------------------------------------- clipping
CLIP = 0.05


def _clip_run(images, callbacks, gan=None, steps=3):
    recorder = Recorder()
    if gan is None:
        gan = dense_gan(gan_class=InstrumentedGAN, discriminator_steps=3, recorder=recorder)
        # A large learning rate: an unclipped update moves weights far past CLIP.
        gan.compile(discriminator_optimizer=keras.optimizers.Adam(1e-2))
    else:
        gan.recorder = recorder
    gan.fit(batches(images[:steps * 3 * SLICE], 3 * SLICE), epochs=1, verbose=0,
            callbacks=callbacks)
    assert len(recorder.max_abs_weight) == 3 * steps
    return gan, np.array(recorder.max_abs_weight, np.float32)


def test_clip_weights_clips_after_every_discriminator_update(mnist_images):
    gan, max_abs = _clip_run(mnist_images, [ClipWeights(CLIP)])
    # Within [-c, c] right after each of the 3 updates of each step, so the later
    # discriminator updates and the generator update all see clipped weights.
    assert np.all(max_abs <= np.float32(CLIP)), max_abs
    assert gan.discriminator_clip_value is None  # Restored after fit.

    # The same training without the callback: weights leave [-c, c] (this test can fail).
    _, unclipped = _clip_run(mnist_images, [])
    assert np.all(unclipped > CLIP), unclipped


def test_clip_weights_restores_the_previous_setting_and_the_train_function(mnist_images):
    gan, _ = _clip_run(mnist_images, [ClipWeights(CLIP)], steps=1)
    assert gan.discriminator_clip_value is None
    # The next fit, without the callback, must no longer clip.
    _, max_abs = _clip_run(mnist_images, [], gan=gan, steps=1)
    assert np.all(max_abs > CLIP), max_abs

    gan.discriminator_clip_value = 0.5
    _, max_abs = _clip_run(mnist_images, [ClipWeights(CLIP)], gan=gan, steps=1)
    assert np.all(max_abs <= np.float32(CLIP)), max_abs
    assert gan.discriminator_clip_value == 0.5
    _, max_abs = _clip_run(mnist_images, [], gan=gan, steps=1)
    assert np.all(max_abs <= np.float32(0.5)) and np.all(max_abs > CLIP), max_abs


class _RaiseAfterFirstBatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise RuntimeError("interrupted")


def test_clip_weights_is_removed_when_fit_raises(mnist_images):
    gan = dense_gan()
    gan.compile()
    with pytest.raises(RuntimeError, match="interrupted"):
        gan.fit(batches(mnist_images[:2 * SLICE], SLICE), epochs=1, verbose=0,
                callbacks=[ClipWeights(CLIP), _RaiseAfterFirstBatch()])
    assert gan.discriminator_clip_value is None  # Keras ran no on_train_end.


@pytest.mark.parametrize("clip_value", [-1, 0, -0.01, float("nan"), "0.01", None])
def test_clip_weights_rejects_non_positive_values(clip_value):
    with pytest.raises(ValueError, match="clip_value"):
        ClipWeights(clip_value)


@pytest.mark.parametrize("clip_value", [-1, 0])
def test_discriminator_clip_value_rejects_non_positive_values(clip_value):
    gan = dense_gan()
    with pytest.raises(ValueError, match="clip_value"):
        gan.discriminator_clip_value = clip_value
    assert gan.discriminator_clip_value is None


# --------------------------------------------------------- discriminator steps
def test_each_discriminator_update_trains_on_its_own_slice():
    k, steps = 3, 2
    # Constant images, one value per example: pixel (0, 0) identifies the example.
    values = np.arange(steps * k * SLICE, dtype=np.float32) / 100.0 - 0.5
    images = np.broadcast_to(values[:, None, None, None], (len(values), 28, 28, 1)).copy()
    recorder = Recorder()
    gan = dense_gan(gan_class=InstrumentedGAN, discriminator_steps=k, recorder=recorder)
    gan.compile()

    gan.fit(batches(images, k * SLICE), epochs=1, verbose=0)

    # k discriminator updates per generator update.
    assert int(gan.discriminator_optimizer.iterations) == k * steps
    assert int(gan.generator_optimizer.iterations) == steps
    assert gan.global_step == steps
    # Within a step, the k updates see k disjoint slices of SLICE examples that
    # together are the step's batch: each real example is used exactly once.
    assert len(recorder.real_slices) == k * steps
    for step in range(steps):
        seen = recorder.real_slices[step * k:(step + 1) * k]
        assert all(len(np.unique(part)) == SLICE for part in seen)
        batch = values[step * k * SLICE:(step + 1) * k * SLICE]
        np.testing.assert_array_equal(np.sort(np.concatenate(seen)), batch)


def test_generator_steps_count_generator_updates(mnist_images):
    gan = dense_gan(discriminator_steps=2, generator_steps=3)
    gan.compile(run_eagerly=True)
    gan.fit(batches(mnist_images[:2 * 2 * SLICE], 2 * SLICE), epochs=1, verbose=0)
    assert int(gan.discriminator_optimizer.iterations) == 4
    assert int(gan.generator_optimizer.iterations) == 6
    assert gan.global_step == 2


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_generator_moving_statistics_advance_once_per_generator_update(mode, mnist_images):
    # Every generator call feeds its batch norm the same per-channel constant (the
    # Dense bias): batch mean `shift`, batch variance 0. After k updates from the
    # initial (0, 1), moving mean = shift * (1 - m**k) and moving variance = m**k.
    momentum, shift = 0.9, np.linspace(-1.0, 1.0, 16).astype(np.float32)
    noise = keras.Input((NOISE_DIMS,))
    net = keras.layers.Dense(16, kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(shift))(noise)
    batch_norm = keras.layers.BatchNormalization(momentum=momentum)
    net = keras.layers.Dense(28 * 28, activation="tanh")(batch_norm(net))
    generator = keras.Model(noise, keras.layers.Reshape((28, 28, 1))(net))
    keras.utils.set_random_seed(0)
    gan = GANModel(generator, dense_discriminator(), discriminator_steps=3, seed=0)
    gan.compile(gradient_penalty_weight=1.0, **MODES[mode])

    gan.fit(batches(mnist_images[:3 * SLICE], 3 * SLICE), epochs=1, verbose=0)

    # One generator update (TF-GAN's update ops), not four generator calls.
    np.testing.assert_allclose(batch_norm.moving_mean.numpy(), shift * (1 - momentum),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(batch_norm.moving_variance.numpy(), np.full(16, momentum),
                               rtol=1e-5)


class _AddsOnePerCall(keras.layers.Layer):
    """Adds the loss 1 on every call (as an activity regularizer would) and returns its
    inputs unchanged."""

    def call(self, inputs):
        self.add_loss(ops.ones((), dtype="float32"))
        return inputs


@pytest.mark.parametrize("gradient_penalty_weight, discriminator_calls", [(None, 2), (1.0, 3)])
def test_losses_added_in_discriminator_calls_count_once_per_call(
        gradient_penalty_weight, discriminator_calls, mnist_images):
    """As in TF-GAN's graph, where each discriminator call (real, generated, the
    penalty's interpolates) adds its own losses to the discriminator loss, and none to
    the generator's."""
    logs = {}
    for adds_losses in (False, True):
        keras.utils.set_random_seed(0)
        images = keras.Input((28, 28, 1))
        net = _AddsOnePerCall()(images) if adds_losses else images
        discriminator = keras.Model(images, dense_discriminator()(net))
        gan = GANModel(dense_generator(), discriminator, seed=0)
        gan.compile(gradient_penalty_weight=gradient_penalty_weight)
        history = gan.fit(batches(mnist_images[:SLICE], SLICE), epochs=1, verbose=0)
        logs[adds_losses] = {key: values[0] for key, values in history.history.items()}

    # Two float32 graphs (one with the extra layer); the Wasserstein losses can be near 0.
    np.testing.assert_allclose(logs[True]["discriminator_loss"],
                               logs[False]["discriminator_loss"] + discriminator_calls, rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(logs[True]["generator_loss"], logs[False]["generator_loss"],
                               rtol=1e-6, atol=1e-6)


def test_batch_not_divisible_by_discriminator_steps_raises(mnist_images):
    gan = dense_gan(discriminator_steps=3)
    gan.compile()
    with pytest.raises(ValueError, match="divisible"):
        gan.fit(batches(mnist_images[:16], 8), epochs=1, verbose=0)


def test_sample_weights_are_refused(mnist_images):
    gan = dense_gan()
    gan.compile(run_eagerly=True)
    with pytest.raises(ValueError, match="sample_weight"):
        gan.fit(tf.data.Dataset.from_tensor_slices(
            (mnist_images[:8], np.zeros(8, np.float32), np.ones(8, np.float32))).batch(8),
            epochs=1, verbose=0)


@pytest.mark.parametrize("kwargs", [dict(discriminator_steps=0), dict(generator_steps=-1),
                                    dict(discriminator_steps=1.5)])
def test_invalid_step_counts_raise(kwargs):
    with pytest.raises(ValueError, match="steps"):
        GANModel(dense_generator(), dense_discriminator(), **kwargs)


class SubclassedGenerator(keras.Model):
    """A generator with no weights until its first call, batch normalization included."""

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(16)
        self.batch_norm = keras.layers.BatchNormalization()
        self.to_images = keras.layers.Dense(28 * 28, activation="tanh")

    def call(self, noise, training=False):
        net = ops.relu(self.batch_norm(self.hidden(noise), training=training))
        return ops.reshape(self.to_images(net), (-1, 28, 28, 1))


def test_compile_builds_subclassed_networks_without_moving_any_state(mnist_images):
    discriminator = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1)])
    gan = GANModel(SubclassedGenerator(), discriminator, noise_shape=(NOISE_DIMS,), seed=0)
    assert not gan.generator.built and not discriminator.built
    seed_state = gan.seed_generator.state.numpy()

    gan.compile()

    assert gan.generator.built and discriminator.built
    assert len(gan.generator_optimizer.variables) > 1  # Slots for the weights.
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), seed_state)
    batch_norm = gan.generator.batch_norm
    np.testing.assert_array_equal(batch_norm.moving_mean.numpy(), 0.0)
    np.testing.assert_array_equal(batch_norm.moving_variance.numpy(), 1.0)
    history = gan.fit(batches(mnist_images[:SLICE], SLICE), epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS)


def test_compile_builds_subclassed_networks_under_a_distribution_strategy(mnist_images):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        discriminator = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1)])
        gan = GANModel(SubclassedGenerator(), discriminator, noise_shape=(NOISE_DIMS,))
        gan.compile()
    for variable in gan.generator.variables + discriminator.variables:
        assert isinstance(variable.value, tf.distribute.DistributedValues), variable.path
    history = gan.fit(batches(mnist_images[:SLICE], SLICE), epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS)


def test_compile_names_a_network_it_cannot_build():
    generator = keras.Sequential([keras.layers.Dense(1)])  # [batch, 1]: not images.
    gan = GANModel(generator, dense_discriminator(), noise_shape=(NOISE_DIMS,))
    with pytest.raises(ValueError, match="The generator is not built") as raised:
        gan.compile()
    assert raised.value.__cause__ is not None  # The discriminator's shape error.


def test_negative_gradient_penalty_weight_raises():
    gan = dense_gan()
    with pytest.raises(ValueError, match="gradient_penalty_weight"):
        gan.compile(gradient_penalty_weight=-1.0)


# ------------------------------------------------------------ save, load, resume
def _tiny_tfgan_gan():
    keras.utils.set_random_seed(5)
    gan = GANModel(mnist_networks.unconditional_generator(8, **mnist_networks.TINY_SIZES),
                   mnist_networks.unconditional_discriminator(**mnist_networks.TINY_SIZES),
                   discriminator_steps=2, seed=5, generator_ema_decay=0.9)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.3),
        discriminator_optimizer=keras.optimizers.RMSprop(5e-4, rho=0.8),
        generator_loss=tfgan_losses.MinimaxGeneratorLoss(label_smoothing=0.1),
        discriminator_loss=tfgan_losses.MinimaxDiscriminatorLoss(label_smoothing=0.2),
        gradient_penalty_weight=2.5,
        run_eagerly=True)  # Eager: these tests are about state; tracing TF-GAN's nets is slow.
    return gan


class _Saved:
    """What a trained GAN looked like when saved, and after one more uninterrupted step."""


@pytest.fixture(scope="module")
def saved_gan(mnist_images, tmp_path_factory):
    """TF-GAN's tiny networks trained 2 steps and saved; then trained 1 step more."""
    gan = _tiny_tfgan_gan()
    gan.fit(batches(mnist_images[:2 * 2 * SLICE], 2 * SLICE), epochs=1, verbose=0)
    saved = _Saved()
    saved.path = tmp_path_factory.mktemp("saved_gan") / "gan.keras"
    gan.save(saved.path)
    saved.generator_weights = snapshot(gan.generator)
    saved.discriminator_weights = snapshot(gan.discriminator)
    saved.optimizers = {
        name: (type(getattr(gan, name)), getattr(gan, name).get_config(),
               [v.numpy() for v in getattr(gan, name).variables])
        for name in ("generator_optimizer", "discriminator_optimizer")}
    saved.seed_state = gan.seed_generator.state.numpy()
    saved.generator_averages = [v.numpy() for v in gan._generator_averages]
    saved.losses = {name: (type(getattr(gan, name)), getattr(gan, name).get_config())
                    for name in ("generator_loss", "discriminator_loss")}
    saved.compile_config = gan.get_compile_config()
    # The reference: one more step without the save/load in between.
    saved.next_batch = batches(mnist_images[64:64 + 2 * SLICE], 2 * SLICE)
    saved.next_history = gan.fit(saved.next_batch, epochs=1, verbose=0).history
    saved.next_weights = snapshot(gan)
    return saved


def _assert_equal_arrays(expected, actual):
    assert len(actual) == len(expected)
    for index, (want, got) in enumerate(zip(expected, actual)):
        np.testing.assert_array_equal(got, want, err_msg=f"array {index}")


def test_keras_file_restores_networks_optimizers_and_compile_config(saved_gan):
    loaded = keras.models.load_model(saved_gan.path)

    assert type(loaded) is GANModel
    assert (loaded.discriminator_steps, loaded.generator_steps) == (2, 1)
    assert loaded.noise_shape == (8,) and loaded.seed == 5
    assert loaded.generator_ema_decay == 0.9
    _assert_equal_arrays(saved_gan.generator_averages,
                         [v.numpy() for v in loaded._generator_averages])
    # Networks, trainable and not (batch-norm statistics, spectral-norm vectors).
    _assert_equal_arrays(saved_gan.generator_weights, snapshot(loaded.generator))
    _assert_equal_arrays(saved_gan.discriminator_weights, snapshot(loaded.discriminator))
    # Both optimizers: type, configuration, iterations and every slot.
    for name, (optimizer_type, config, variables) in saved_gan.optimizers.items():
        optimizer = getattr(loaded, name)
        assert type(optimizer) is optimizer_type and optimizer.get_config() == config
        _assert_equal_arrays(variables, [v.numpy() for v in optimizer.variables])
    assert int(loaded.generator_optimizer.iterations) == 2
    assert int(loaded.discriminator_optimizer.iterations) == 4
    assert loaded.global_step == 2
    # Compile configuration: losses with their hyper-parameters, penalty weight, kwargs.
    for name, (loss_type, config) in saved_gan.losses.items():
        assert type(getattr(loaded, name)) is loss_type
        assert getattr(loaded, name).get_config() == config
    assert loaded.generator_loss.get_config()["label_smoothing"] == 0.1
    assert loaded.discriminator_loss.get_config()["label_smoothing"] == 0.2
    assert loaded.gradient_penalty_weight == 2.5
    assert loaded.run_eagerly
    assert loaded.get_compile_config() == saved_gan.compile_config

    # fit continues from the saved counts.
    history = loaded.fit(saved_gan.next_batch, epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS | {"gradient_penalty"})
    assert int(loaded.discriminator_optimizer.iterations) == 6
    assert int(loaded.generator_optimizer.iterations) == 3 and loaded.global_step == 3


@pytest.mark.parametrize("seed", [5, None])
def test_keras_file_restores_the_noise_seed_generator_state(seed, mnist_images, tmp_path):
    gan = dense_gan(seed=seed)
    gan.compile(run_eagerly=True)
    gan.fit(batches(mnist_images[:2 * SLICE], SLICE), epochs=1, verbose=0)
    state = gan.seed_generator.state.numpy()
    assert state[1] > 0  # Training drew noise.
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    # Otherwise a resumed run draws again the noise (and gradient-penalty
    # interpolation weights) of the first steps, and runs resumed from a
    # checkpoint differ from uninterrupted ones.
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), state)


def test_keras_file_restores_the_step_count_and_older_files_count_updates(
        mnist_images, tmp_path, monkeypatch):
    gan = dense_gan(generator_steps=2)
    gan.compile(run_eagerly=True)
    gan.fit(batches(mnist_images[:2 * SLICE], SLICE), epochs=1, verbose=0)
    assert gan.global_step == 2
    gan.save(tmp_path / "gan.keras")
    assert keras.models.load_model(tmp_path / "gan.keras").global_step == 2

    def without_step_count(self, store):  # As GANModel saved before it counted steps.
        keras.Model.save_own_variables(self, store)
        store["seed_generator_state"] = self.seed_generator.state

    monkeypatch.setattr(GANModel, "save_own_variables", without_step_count)
    gan.save(tmp_path / "older.keras")
    monkeypatch.undo()
    # Four generator updates, two per step.
    assert keras.models.load_model(tmp_path / "older.keras").global_step == 2


def test_training_resumed_from_a_keras_file_matches_uninterrupted_training(saved_gan):
    loaded = keras.models.load_model(saved_gan.path)
    history = loaded.fit(saved_gan.next_batch, epochs=1, verbose=0).history
    for key, values in saved_gan.next_history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    for index, (want, got) in enumerate(zip(saved_gan.next_weights, snapshot(loaded))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"weight {index}")


def test_keras_file_round_trip_without_gradient_penalty(mnist_images, tmp_path):
    gan = dense_gan()
    gan.compile(generator_loss="least_squares_generator_loss",
                discriminator_loss=tfgan_losses.LeastSquaresDiscriminatorLoss(fake_label=-1.0))
    gan.fit(batches(mnist_images[:SLICE], SLICE), epochs=1, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.gradient_penalty_weight is None
    assert "gradient_penalty" not in [metric.name for metric in loaded.metrics]
    assert loaded.discriminator_loss.get_config()["fake_label"] == -1.0
    assert not loaded.run_eagerly and not loaded.jit_compile
    history = loaded.fit(batches(mnist_images[:SLICE], SLICE), epochs=1, verbose=0)
    assert_finite_logs(history, LOG_KEYS)
    assert loaded.global_step == 2
