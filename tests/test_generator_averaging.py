"""Tests for the generator's moving average (`GANModel(generator_ema_decay=...)`,
`GANModel.generator_average`) and for `recalibrate_batch_norm`.

Expected values come from numpy: the average from the recorded generator
weights after every update, the batch-norm statistics from the layers' own
formulas on the batches.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_losses import GANModel, recalibrate_batch_norm

NOISE_DIMS = 4
BATCH = 8


def dense_generator(batch_norm=False):
    noise = keras.Input((NOISE_DIMS,))
    net = keras.layers.Dense(6)(noise)
    if batch_norm:
        net = keras.layers.BatchNormalization(momentum=0.9, name="batch_norm")(net)
    net = keras.layers.Dense(3 * 3, activation="tanh")(keras.layers.ReLU()(net))
    return keras.Model(noise, keras.layers.Reshape((3, 3, 1))(net), name="generator")


def dense_discriminator():
    images = keras.Input((3, 3, 1))
    net = keras.layers.Dense(5, activation="relu")(keras.layers.Flatten()(images))
    return keras.Model(images, keras.layers.Dense(1)(net), name="discriminator")


def averaged_gan(decay=0.9, batch_norm=False, **compile_kwargs):
    keras.utils.set_random_seed(1)
    gan = GANModel(dense_generator(batch_norm), dense_discriminator(), seed=1,
                   generator_ema_decay=decay)
    gan.compile(generator_optimizer=keras.optimizers.SGD(0.1),
                discriminator_optimizer=keras.optimizers.SGD(0.1),
                generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss", **compile_kwargs)
    return gan


def images(steps, seed=0):
    data = np.random.default_rng(seed).uniform(-1, 1, (steps * BATCH, 3, 3, 1))
    return tf.data.Dataset.from_tensor_slices(data.astype(np.float32)).batch(BATCH)


class RecordGeneratorWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = [[w.numpy() for w in self.model.generator.trainable_weights]]

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append([w.numpy() for w in self.model.generator.trainable_weights])


def expected_average(weights_per_update, decay):
    """tf.train.ExponentialMovingAverage with num_updates: decay min(d, (1+t)/(10+t))."""
    average = [np.array(w, np.float64) for w in weights_per_update[0]]
    for t, weights in enumerate(weights_per_update[1:], start=1):
        step_decay = min(decay, (1 + t) / (10 + t))
        average = [step_decay * a + (1 - step_decay) * w for a, w in zip(average, weights)]
    return average


# ------------------------------------------------------------------ moving average
@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("decay", [0.5, 0.99])
def test_average_follows_the_warmed_up_exponential_moving_average(mode, decay):
    gan = averaged_gan(decay, run_eagerly=mode == "eager", jit_compile=mode == "xla")
    recorder = RecordGeneratorWeights()
    gan.fit(images(12), epochs=1, verbose=0, callbacks=[recorder])
    assert len(recorder.weights) == 13
    expected = expected_average(recorder.weights, decay)
    actual = [w.numpy() for w in gan._generator_averages]
    for want, got in zip(expected, actual):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Not vacuous: the average differs from the last weights.
    assert max(np.max(np.abs(a - w)) for a, w in zip(actual, recorder.weights[-1])) > 1e-4


def test_no_decay_keeps_no_average():
    gan = averaged_gan(None)
    assert gan._generator_averages == []
    assert len(gan.weights) == len(gan.generator.weights) + len(gan.discriminator.weights)
    before = [w.numpy() for w in gan.generator.weights]
    with gan.generator_average() as generator:
        assert generator is gan.generator
        for want, got in zip(before, gan.generator.weights):
            np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("decay", [0, 1, -0.5, 1.5, float("nan")])
def test_invalid_decay_raises(decay):
    with pytest.raises(ValueError, match="generator_ema_decay"):
        GANModel(dense_generator(), dense_discriminator(), generator_ema_decay=decay)


def test_generator_average_swaps_in_the_average_and_restores_every_variable():
    gan = averaged_gan(0.9, batch_norm=True)
    gan.fit(images(6), epochs=1, verbose=0)
    trained = [w.numpy() for w in gan.generator.weights]
    averages = [w.numpy() for w in gan._generator_averages]
    moving_mean = gan.generator.get_layer("batch_norm").moving_mean
    trained_moving_mean = moving_mean.numpy()
    noise = np.random.default_rng(2).normal(size=(16, NOISE_DIMS)).astype(np.float32)
    with gan.generator_average():
        for want, got in zip(averages, gan.generator.trainable_weights):
            np.testing.assert_array_equal(got.numpy(), want)
        recalibrate_batch_norm(gan.generator, [noise])  # Changes the moving statistics.
        assert not np.allclose(moving_mean.numpy(), trained_moving_mean)
    for want, got in zip(trained, gan.generator.weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_generator_average_restores_the_weights_when_the_block_raises():
    gan = averaged_gan(0.9)
    gan.fit(images(3), epochs=1, verbose=0)
    trained = [w.numpy() for w in gan.generator.weights]
    with pytest.raises(RuntimeError, match="boom"), gan.generator_average():
        raise RuntimeError("boom")
    for want, got in zip(trained, gan.generator.weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_average_and_decay_survive_a_keras_file_round_trip(tmp_path):
    gan = averaged_gan(0.8)
    gan.fit(images(4), epochs=1, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.generator_ema_decay == 0.8
    for want, got in zip(gan._generator_averages, loaded._generator_averages):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    # And the average goes on from there: one more step on both agrees.
    for model in (gan, loaded):
        model.fit(images(1, seed=5), epochs=1, verbose=0)
    for want, got in zip(gan._generator_averages, loaded._generator_averages):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------- batch-norm recalibration
def _two_batch_norm_model():
    inputs = keras.Input((3,))
    net = keras.layers.Dense(4, name="dense")(inputs)
    net = keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn1")(net)
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, keras.layers.BatchNormalization(
        momentum=0.5, epsilon=1e-3, center=False, scale=False, name="bn2")(inner_input))
    return keras.Model(inputs, inner(keras.layers.ReLU()(net)))


def test_recalibration_sets_exact_averages_of_the_training_mode_statistics():
    keras.utils.set_random_seed(3)
    model = _two_batch_norm_model()
    bn1 = model.get_layer("bn1")
    bn1.gamma.assign([1.5, 0.5, 2.0, 1.0])
    bn1.beta.assign([0.1, -0.2, 0.3, 0.0])
    rng = np.random.default_rng(4)
    batches = [rng.normal(1.0, 2.0, (10, 3)).astype(np.float32) for _ in range(5)]

    assert recalibrate_batch_norm(model, batches) == 2

    kernel, bias = (w.numpy().astype(np.float64) for w in model.get_layer("dense").weights)
    gamma, beta = bn1.gamma.numpy(), bn1.beta.numpy()
    means1, variances1, means2, variances2 = [], [], [], []
    for batch in batches:
        hidden = batch.astype(np.float64) @ kernel + bias
        means1.append(hidden.mean(0))
        variances1.append(hidden.var(0))  # Batch norm's biased batch variance.
        normalised = gamma * (hidden - means1[-1]) / np.sqrt(variances1[-1] + 1e-3) + beta
        relu = np.maximum(normalised, 0)
        means2.append(relu.mean(0))
        variances2.append(relu.var(0))
    bn2 = model.layers[-1].get_layer("bn2")  # Found inside the nested model.
    np.testing.assert_allclose(bn1.moving_mean.numpy(), np.mean(means1, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn1.moving_variance.numpy(), np.mean(variances1, 0), rtol=1e-4)
    np.testing.assert_allclose(bn2.moving_mean.numpy(), np.mean(means2, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn2.moving_variance.numpy(), np.mean(variances2, 0), rtol=1e-4,
                               atol=1e-6)
    # The layers keep their momentum; the weights are untouched.
    assert (bn1.momentum, bn2.momentum) == (0.99, 0.5)
    np.testing.assert_array_equal(bn1.gamma.numpy(), gamma)


def test_recalibration_restores_the_momentum_when_a_batch_fails():
    model = _two_batch_norm_model()
    good = np.zeros((4, 3), np.float32)
    with pytest.raises(Exception):
        recalibrate_batch_norm(model, [good, np.zeros((4, 7), np.float32)])
    assert model.get_layer("bn1").momentum == 0.99


def test_recalibration_without_batches_raises():
    with pytest.raises(ValueError, match="input_batches"):
        recalibrate_batch_norm(_two_batch_norm_model(), [])


def test_recalibration_inside_tf_function_raises():
    model = _two_batch_norm_model()

    @tf.function
    def recalibrate():
        recalibrate_batch_norm(model, [tf.zeros((2, 3))])

    with pytest.raises(RuntimeError, match="eagerly"):
        recalibrate()


def test_model_without_batch_norm_is_left_unchanged():
    model = dense_generator()
    before = [w.numpy() for w in model.weights]
    assert recalibrate_batch_norm(model, [np.ones((2, NOISE_DIMS), np.float32)]) == 0
    for want, got in zip(before, model.weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_recalibration_improves_the_inference_mode_match_with_batch_statistics():
    """After recalibration, inference mode reproduces what training mode computes on a
    large batch; before, the stale moving statistics do not."""
    gan = averaged_gan(None, batch_norm=True)
    gan.fit(images(30), epochs=1, verbose=0)  # Moving statistics lag (momentum 0.9).
    noise = np.random.default_rng(6).normal(size=(4000, NOISE_DIMS)).astype(np.float32)
    target = gan.generator(noise, training=True).numpy()  # Batch statistics of 4000.
    stale_error = np.abs(gan.generator(noise, training=False).numpy() - target).mean()
    recalibrate_batch_norm(gan.generator, np.split(noise, 8))
    error = np.abs(gan.generator(noise, training=False).numpy() - target).mean()
    assert error < 1e-3 < stale_error
