"""`GANModel.evaluate` / `fit(validation_data=...)` and the `SampleQuality` callback.

Expected losses are computed in numpy from the networks' outputs; the callback's
scores are compared with `eval.py`'s on the exported generator.
"""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import eval as eval_script
import models
import tfgan_losses
from tfgan_losses.eval import mnist as mnist_eval
from tfgan_losses.eval.sample_quality import SampleQuality

NOISE_DIMS = 4
LOSS_KEYS = ["discriminator_loss", "generated_output_mean", "generator_loss",
             "real_output_mean"]


def _dense_gan(seed=0, **kwargs):
    """Dense networks without batch norm or regularizers: their losses are plain formulas."""
    keras.utils.set_random_seed(seed)
    noise = keras.Input((NOISE_DIMS,))
    images = keras.layers.Reshape((6, 6, 1))(keras.layers.Dense(36, activation="tanh")(noise))
    generator = keras.Model(noise, images)
    data = keras.Input((6, 6, 1))
    logits = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(
        keras.layers.Flatten()(data)))
    gan = tfgan_losses.GANModel(generator, keras.Model(data, logits), seed=seed, **kwargs)
    gan.compile(generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss")
    return gan


def _mnist_gan(seed=0, **compile_kwargs):
    """TF-GAN's tiny MNIST networks: batch norm, spectral norm, weight decay, a weight average."""
    keras.utils.set_random_seed(seed)
    gan = tfgan_losses.GANModel(models.unconditional_generator(NOISE_DIMS, **models.TINY_SIZES),
                                models.unconditional_discriminator(**models.TINY_SIZES),
                                seed=seed, generator_ema_decay=0.5)
    gan.compile(**compile_kwargs)
    return gan


def _images(count, shape=(6, 6, 1), seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (count,) + shape).astype(np.float32)


def _state(gan):
    """Every value that training owns, by name: variables (weights, batch-norm and
    spectral-norm state, the weight average, optimizer slots) and the noise stream;
    not the evaluation noise stream, which every `evaluate` restarts."""
    evaluation_state = gan.evaluation_seed_generator.state
    variables = [variable for variable in gan.variables + gan.generator_optimizer.variables
                 + gan.discriminator_optimizer.variables if variable is not evaluation_state]
    state = {f"{index}:{variable.path}": np.array(variable.numpy())
             for index, variable in enumerate(variables)}
    state["seed_generator"] = gan.seed_generator.state.numpy().copy()
    state["global_step"] = gan.global_step
    return state


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def _softplus(x):
    return np.logaddexp(0.0, x)


# ----------------------------------------------------------------- test_step
def test_evaluate_gives_the_losses_of_the_inference_mode_networks():
    """One batch: TF-GAN's modified losses (label smoothing 0.25) of the discriminator's
    logits on the real images and on the generator's output for the evaluation noise,
    which is the first draw of a fresh seed generator with the model's seed."""
    gan = _dense_gan(seed=3)
    real = _images(10)
    noise = keras.random.normal((10, NOISE_DIMS), seed=keras.random.SeedGenerator(3))
    real_logits = gan.discriminator(real).numpy().ravel().astype(np.float64)
    generated_logits = gan.discriminator(gan.generator(noise)).numpy().ravel().astype(np.float64)

    logs = gan.evaluate(real, batch_size=10, verbose=0, return_dict=True)

    # Real label 1 smoothed to 0.875: -(0.875 log s(x) + 0.125 log(1 - s(x))).
    smoothed = 0.875 * _softplus(-real_logits) + 0.125 * _softplus(real_logits)
    expected_d = smoothed.mean() + _softplus(generated_logits).mean()
    np.testing.assert_allclose(logs["discriminator_loss"], expected_d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["generator_loss"], _softplus(-generated_logits).mean(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["real_output_mean"], real_logits.mean(), atol=1e-6)
    np.testing.assert_allclose(logs["generated_output_mean"], generated_logits.mean(),
                               atol=1e-6)


@pytest.mark.parametrize("as_dataset", [False, True])
def test_evaluate_weighs_a_partial_last_batch_by_its_size(as_dataset):
    """23 examples in batches of 10: the result is the mean over examples, as if one
    batch of 23 (the same evaluation noise, drawn batch by batch) were evaluated."""
    gan = _dense_gan()
    real = _images(23)
    real_logits = gan.discriminator(real).numpy().ravel()
    data = tf.data.Dataset.from_tensor_slices(real).batch(10) if as_dataset else real
    kwargs = {} if as_dataset else {"batch_size": 10}

    logs = gan.evaluate(data, verbose=0, return_dict=True, **kwargs)

    np.testing.assert_allclose(logs["real_output_mean"], real_logits.mean(), atol=1e-6)
    assert sorted(logs) == LOSS_KEYS


def test_evaluate_changes_no_training_state_and_repeats_its_noise():
    gan = _mnist_gan(gradient_penalty_weight=1.0)
    real = _images(12, (28, 28, 1))
    gan.fit(real, batch_size=4, epochs=1, verbose=0)  # Optimizer slots, an average.
    before = _state(gan)

    first = gan.evaluate(real, batch_size=5, verbose=0, return_dict=True)
    second = gan.evaluate(real, batch_size=5, verbose=0, return_dict=True)

    _assert_same_state(before, _state(gan))
    assert first == second  # The evaluation noise stream restarts with every evaluate.
    assert sorted(first) == sorted(LOSS_KEYS + ["gradient_penalty"])
    assert all(np.isfinite(value) for value in first.values())


@pytest.mark.parametrize("as_dataset", [False, True])
def test_fit_with_validation_data_reports_val_keys(as_dataset):
    gan = _dense_gan()
    train, held_out = _images(16), _images(7, seed=2)
    if as_dataset:
        history = gan.fit(tf.data.Dataset.from_tensor_slices(train).batch(8), epochs=2,
                          validation_data=tf.data.Dataset.from_tensor_slices(held_out).batch(4),
                          verbose=0)
    else:
        history = gan.fit(train, batch_size=8, epochs=2, validation_data=held_out,
                          validation_batch_size=4, verbose=0)

    assert sorted(history.history) == sorted(LOSS_KEYS + [f"val_{key}" for key in LOSS_KEYS])
    # The last epoch's validation is what evaluate gives for the trained model.
    logs = gan.evaluate(held_out, batch_size=4, verbose=0, return_dict=True)
    for key in LOSS_KEYS:
        np.testing.assert_allclose(history.history[f"val_{key}"][-1], logs[key], rtol=1e-6,
                                   atol=1e-7)


def test_conditional_models_evaluate_on_images_and_labels():
    keras.utils.set_random_seed(0)
    sizes = dict(models.TINY_SIZES, embedding_size=4)
    gan = tfgan_losses.ConditionalGANModel(
        models.conditional_generator(NOISE_DIMS, **sizes),
        models.conditional_discriminator(**sizes), seed=0)
    gan.compile()
    labels = np.eye(10, dtype=np.float32)[np.arange(9) % 10]
    logs = gan.evaluate(_images(9, (28, 28, 1)), labels, batch_size=4, verbose=0,
                        return_dict=True)
    assert sorted(logs) == LOSS_KEYS and all(np.isfinite(v) for v in logs.values())


# ----------------------------------------------------------- SampleQuality
@pytest.fixture(scope="module")
def trained_mnist_gan():
    gan = _mnist_gan()
    gan.fit(_images(16, (28, 28, 1)), batch_size=4, epochs=1, verbose=0)
    return gan


def _quality_callback(gan, count=60, **kwargs):
    noise = np.random.default_rng(5).standard_normal((count, NOISE_DIMS)).astype(np.float32)
    real = _images(count, (28, 28, 1), seed=6)
    callback = mnist_eval.mnist_sample_quality(real, noise, batch_size=25, **kwargs)
    callback.set_model(gan)
    return callback, noise, real


def test_callback_scores_equal_eval_py_on_the_exported_generator(trained_mnist_gan, tmp_path):
    gan = trained_mnist_gan
    callback, noise, real = _quality_callback(gan)

    measured = callback.measure()

    with gan.generator_average():  # What the callback measured, exported.
        tfgan_losses.recalibrate_batch_norm(gan.generator, [noise[:25], noise[25:50], noise[50:]])
        tfgan_losses.export_generator(gan.generator, str(tmp_path / "generator"))
    input_specs, generate = eval_script.load_exported_generator(str(tmp_path / "generator"))
    scores = eval_script.evaluate(generate({input_specs[0][0]: noise}), real)
    assert sorted(measured) == ["mnist_frechet_distance", "mnist_score"]
    np.testing.assert_allclose(measured["mnist_score"], scores["mnist_score"], rtol=1e-4)
    np.testing.assert_allclose(measured["mnist_frechet_distance"], scores["frechet_distance"],
                               rtol=1e-3, atol=1e-3)


def test_callback_leaves_the_training_state_as_it_was(trained_mnist_gan):
    gan = trained_mnist_gan
    callback, _, _ = _quality_callback(gan)
    before = _state(gan)
    callback.measure()
    _assert_same_state(before, _state(gan))


def test_callback_values_reach_history_csv_logger_and_batch_logs(tmp_path):
    gan = _mnist_gan()
    callback, _, _ = _quality_callback(gan, every_n_steps=2)
    seen = []
    recorder = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append("mnist_score" in logs))
    csv_path = tmp_path / "log.csv"
    history = gan.fit(_images(24, (28, 28, 1)), batch_size=4, epochs=2, verbose=0,
                      callbacks=[callback, recorder, keras.callbacks.CSVLogger(str(csv_path))])

    assert seen == [False, True, False, True, False, True] * 2  # Global steps 2, 4, ...
    assert len(history.history["mnist_score"]) == 2
    assert all(1.0 <= score <= 10.0 for score in history.history["mnist_score"])
    with open(csv_path) as stream:
        rows = list(csv.DictReader(stream))
    assert [float(row["mnist_frechet_distance"]) for row in rows] == pytest.approx(
        history.history["mnist_frechet_distance"], rel=1e-6)


@pytest.mark.parametrize("kwargs, argument", [
    ({"every_n_steps": 0}, "every_n_steps"),
    ({"every_n_epochs": 0}, "every_n_epochs"),
])
def test_callback_rejects_bad_periods(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        SampleQuality(mnist_eval.mnist_classifier_fn, _images(4, (28, 28, 1)),
                      np.zeros((4, NOISE_DIMS), np.float32), **kwargs)
