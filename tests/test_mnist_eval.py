"""Tests for the packaged MNIST classifier, its metrics, and eval.py."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_losses.eval import classifier_score_from_logits, mnist
from tfgan_losses.eval.image_grid import write_image_grid_png
from tfgan_losses.training.export import export_generator
from tfgan_losses.training.gan_model import GANModel

REPO_ROOT = Path(__file__).resolve().parents[1]
EVAL_SCRIPT = REPO_ROOT / "eval.py"
NOISE_DIMS = 8


@pytest.fixture(scope="module")
def test_split(mnist_dir, mnist_data_dir):
    """The 10000 MNIST test images in [-1, 1] and their int labels."""
    return mnist.load_mnist_test_split(mnist_dir, mnist_data_dir)


@pytest.fixture(scope="module")
def test_logits(test_split):
    return mnist.mnist_logits(test_split[0]).numpy()


@pytest.fixture(scope="module")
def eval_module():
    """eval.py imported as a module (its flags are defined only when run as a script)."""
    spec = importlib.util.spec_from_file_location("tfgan_eval_script", EVAL_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- classifier
def test_shipped_classifier_is_small_and_cached():
    assert os.path.getsize(mnist.CLASSIFIER_PATH) < 3 * 2**20
    classifier = mnist.load_mnist_classifier()
    assert mnist.load_mnist_classifier() is classifier
    assert 100_000 <= classifier.count_params() <= 300_000
    assert all(weight.dtype == "float32" for weight in classifier.weights)


def test_classifier_is_at_least_99_percent_accurate_on_the_test_split(test_split, test_logits):
    images, labels = test_split
    assert images.shape == (10000, 28, 28, 1) and test_logits.shape == (10000, 10)
    accuracy = np.mean(np.argmax(test_logits, axis=1) == labels)
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(mnist.CLASSIFIER_TEST_ACCURACY, abs=1e-4)


def test_classifier_fn_and_features_share_the_network(test_split, test_logits):
    images = test_split[0][:7]
    np.testing.assert_allclose(mnist.mnist_classifier_fn(images), test_logits[:7],
                               rtol=1e-4, atol=1e-4)
    # [N, 28, 28] images are accepted too.
    np.testing.assert_allclose(mnist.mnist_classifier_fn(images[..., 0]), test_logits[:7],
                               rtol=1e-4, atol=1e-4)
    features = mnist.mnist_features_fn(images).numpy()
    assert features.shape == (7, 128) and features.min() >= 0.0  # ReLU activations.
    logits_layer = mnist.load_mnist_classifier().get_layer("logits")
    np.testing.assert_allclose(logits_layer(features), test_logits[:7], rtol=1e-4, atol=1e-4)


def test_classifier_rejects_images_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\[N, 28, 28, 1\]"):
        mnist.mnist_classifier_fn(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="floats in \\[-1, 1\\], got uint8"):
        mnist.mnist_score(np.zeros((2, 28, 28, 1), np.uint8))


def test_tf_gan_num_batches_gives_the_same_logits(test_split, test_logits):
    np.testing.assert_allclose(mnist.mnist_logits(test_split[0][:1000], num_batches=4),
                               test_logits[:1000], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="divide"):
        mnist.mnist_logits(test_split[0][:1000], num_batches=3)


# ---------------------------------------------------------------- metrics
def test_mnist_score_of_real_images_is_high(test_split, test_logits):
    score = float(classifier_score_from_logits(test_logits))
    assert score > 9.5
    assert score == pytest.approx(mnist.REAL_TEST_MNIST_SCORE, abs=0.01)
    assert float(mnist.mnist_score(test_split[0][:1000])) > 9.5


@pytest.mark.parametrize("value", [-1.0, 0.0, 1.0])
def test_mnist_score_of_constant_images_is_one(value):
    images = np.full((64, 28, 28, 1), value, np.float32)
    assert float(mnist.mnist_score(images)) == pytest.approx(1.0, abs=1e-4)


def test_frechet_distance_is_zero_for_equal_sets_and_large_for_noise(test_split):
    real = test_split[0][:1000]
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32)
    assert abs(float(mnist.mnist_frechet_distance(real, real))) < 1e-3
    other_real = float(mnist.mnist_frechet_distance(real, test_split[0][1000:2000]))
    to_noise = float(mnist.mnist_frechet_distance(real, noise))
    assert other_real < 5.0
    assert to_noise > 100.0 > 10 * other_real


def test_cross_entropy_is_low_for_true_labels_and_high_for_wrong_ones(test_split):
    images, labels = test_split[0][:500], test_split[1][:500]
    one_hot = np.eye(10, dtype=np.float32)[labels]
    assert float(mnist.mnist_cross_entropy(images, one_hot)) < 0.1
    assert float(mnist.mnist_cross_entropy(images, (labels + 1) % 10)) > 3.0


@pytest.mark.parametrize("ids", [[0, 1, 2, 10], [0.0, 1.0, 2.5, 3.0], [-1, 0, 1, 2]])
def test_class_ids_outside_the_classes_are_rejected(ids):
    logits = np.zeros((4, 10), np.float32)
    with pytest.raises(ValueError, match="whole numbers in \\[0, 10\\)"):
        mnist.cross_entropy_from_logits(logits, np.array(ids))
    with pytest.raises(ValueError, match="whole numbers"):
        mnist.accuracy_from_logits(logits, np.array(ids))
    # Whole-number floats are class ids: the cross-entropy of uniform logits is log 10.
    np.testing.assert_allclose(
        mnist.cross_entropy_from_logits(logits, np.array([0.0, 1.0, 2.0, 9.0])), np.log(10.0),
        rtol=1e-6)


def test_real_mnist_scores_reports_score_and_accuracy(test_split):
    scores = mnist.real_mnist_scores(test_split[0][:200], test_split[1][:200])
    assert scores["num_images"] == 200
    assert scores["mnist_score"] > 9.0 and scores["accuracy"] >= 0.98
    assert scores["cross_entropy"] < 0.1


# ---------------------------------------------------------------- eval.py
def test_generator_inputs_are_sampled_by_name(eval_module):
    specs = [("unstructured_noise", (5,)), ("categorical_code", (10,)),
             ("continuous_code", (2,)), ("one_hot_labels", (10,))]
    inputs = eval_module.sample_inputs(specs, 4000, np.random.default_rng(0))
    assert inputs["unstructured_noise"].shape == (4000, 5)
    assert inputs["unstructured_noise"].std() == pytest.approx(1.0, abs=0.05)
    for name in ("categorical_code", "one_hot_labels"):
        one_hot = inputs[name]
        assert set(np.unique(one_hot)) == {0.0, 1.0}
        np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)
        assert np.bincount(one_hot.argmax(axis=1), minlength=10).min() > 300  # Uniform.
    continuous = inputs["continuous_code"]
    assert -1.0 <= continuous.min() < -0.95 and 0.95 < continuous.max() <= 1.0
    assert all(values.dtype == np.float32 for values in inputs.values())


def test_generated_inputs_and_real_subset_depend_on_the_seed_alone(eval_module):
    """Not on --batch_size, nor on the order in which a signature lists the inputs."""
    specs = [("noise", (8,)), ("one_hot_labels", (10,))]
    batch_sizes = []

    def generate(inputs):
        assert len(inputs["noise"]) == len(inputs["one_hot_labels"])
        batch_sizes.append(len(inputs["noise"]))
        return np.zeros((len(inputs["noise"]), 28, 28, 1), np.float32)

    _, first = eval_module.generate_images(specs, generate, 50, 7, np.random.default_rng(3))
    _, second = eval_module.generate_images(specs[::-1], generate, 50, 50,
                                            np.random.default_rng(3))
    assert batch_sizes == [7] * 7 + [1, 50]
    for name, _ in specs:
        np.testing.assert_array_equal(first[name], second[name])

    real = np.arange(100)
    subset = eval_module.real_subset(real, 30, seed=3)
    assert len(set(subset)) == 30 and np.all(np.diff(subset) > 0)
    np.testing.assert_array_equal(eval_module.real_subset(real, 30, seed=3), subset)
    assert not np.array_equal(eval_module.real_subset(real, 30, seed=4), subset)
    np.testing.assert_array_equal(eval_module.real_subset(real, 100, seed=3), real)


def _tiny_generator(conditional):
    """A generator from noise (and labels) to [28, 28, 1] images in [-1, 1]."""
    keras.utils.set_random_seed(0)
    noise = keras.Input((NOISE_DIMS,), name="noise")
    inputs = [noise]
    x = noise
    if conditional:
        labels = keras.Input((10,), name="one_hot_labels")
        inputs.append(labels)
        x = keras.layers.Concatenate()([noise, labels])
    x = keras.layers.Dense(28 * 28, activation="tanh")(x)
    images = keras.layers.Reshape((28, 28, 1))(x)
    return keras.Model(inputs if conditional else noise, images)


def _run_eval(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(EVAL_SCRIPT), *map(str, args)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def _check_png(path, side):
    png = tf.io.decode_png(tf.io.read_file(str(path)))
    assert png.shape == (side * 28, side * 28, 1) and png.dtype == tf.uint8


def test_eval_script_scores_an_exported_conditional_generator(tmp_path, mnist_dir,
                                                              mnist_data_dir):
    generator_dir = export_generator(_tiny_generator(conditional=True), tmp_path / "generator",
                                     input_names=["noise", "one_hot_labels"])
    result = _run_eval(f"--generator_dir={generator_dir}", "--num_images=200",
                       f"--mnist_dir={mnist_dir}", f"--data_dir={mnist_data_dir}", "--seed=1")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "eval.json").read_text())  # Beside the generator.
    for key in ("mnist_score", "real_mnist_score", "score_ratio", "frechet_distance",
                "label_accuracy", "label_cross_entropy"):
        assert np.isfinite(report[key]), key
    assert report["num_images"] == report["num_real_images"] == 200
    assert report["generator_inputs"] == {"noise": "normal", "one_hot_labels": "one_hot"}
    assert 1.0 <= report["mnist_score"] <= 10.0 and report["real_mnist_score"] > 9.0
    assert report["score_ratio"] == pytest.approx(
        report["mnist_score"] / report["real_mnist_score"])
    assert report["frechet_distance"] > 10.0  # An untrained generator is far from MNIST.
    assert report["label_accuracy"] <= 0.5
    _check_png(tmp_path / "eval_grid.png", 10)


def test_eval_functions_score_a_checkpoint_generator(tmp_path, eval_module, test_split):
    """The --checkpoint path, in-process (a second subprocess would cost ~15 s)."""
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(1)])
    gan = GANModel(_tiny_generator(conditional=False), discriminator, seed=0)
    gan.compile()
    checkpoint = tmp_path / "checkpoint.keras"
    gan.save(checkpoint)
    input_specs, generate = eval_module.load_checkpoint_generator(str(checkpoint))
    assert input_specs == [("noise", (NOISE_DIMS,))]
    images, inputs = eval_module.generate_images(input_specs, generate, 100, 32,
                                                 np.random.default_rng(0))
    assert images.shape == (100, 28, 28, 1) and inputs["noise"].shape == (100, NOISE_DIMS)
    np.testing.assert_allclose(images[:5], gan.generator(inputs["noise"][:5], training=False),
                               atol=1e-5)
    scores = eval_module.evaluate(images, test_split[0][:100], inputs)
    assert set(scores) == {"mnist_score", "real_mnist_score", "score_ratio", "frechet_distance"}
    assert scores["frechet_distance"] > 10.0
    write_image_grid_png(images, 4, str(tmp_path / "grid.png"))
    _check_png(tmp_path / "grid.png", 4)


def test_checkpoint_generator_is_evaluated_as_exported(tmp_path, eval_module):
    """The checkpoint's weight average is swapped in and its batch norm recalibrated."""
    keras.utils.set_random_seed(0)
    noise = keras.Input((NOISE_DIMS,), name="noise")
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(8)(noise))
    images = keras.layers.Reshape((28, 28, 1))(
        keras.layers.Dense(28 * 28, activation="tanh")(hidden))
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(1)])
    gan = GANModel(keras.Model(noise, images), discriminator, seed=0, generator_ema_decay=0.5)
    gan.compile(generator_optimizer="sgd", discriminator_optimizer="sgd")
    data = np.random.default_rng(1).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    gan.save(tmp_path / "checkpoint.keras")
    inputs = {"noise": np.random.default_rng(2).normal(size=(6, NOISE_DIMS)).astype(np.float32)}
    last = gan.generator(inputs["noise"], training=False).numpy()
    with gan.generator_average():
        averaged = gan.generator(inputs["noise"], training=False).numpy()
    assert np.abs(averaged - last).max() > 1e-4

    _, generate = eval_module.load_checkpoint_generator(str(tmp_path / "checkpoint.keras"))
    np.testing.assert_allclose(generate(inputs), averaged, atol=1e-6)
    _, generate = eval_module.load_checkpoint_generator(
        str(tmp_path / "checkpoint.keras"), recalibration_batches=2, batch_size=50)
    recalibrated = generate(inputs)
    assert np.abs(recalibrated - averaged).max() > 1e-4


@pytest.mark.parametrize("args, message", [
    ([], "give exactly one of --generator_dir"),
    (["--generator_dir=a", "--checkpoint=b.keras"], "give exactly one of --generator_dir"),
    (["--generator_dir=/no/such/generator"], "'/no/such/generator' does not exist"),
    (["--checkpoint=/no/such/checkpoint.keras"], "'/no/such/checkpoint.keras' does not exist"),
    (["--generator_dir=tests"], "'tests' is not a SavedModel folder"),
    (["--checkpoint=eval.py", "--num_images=50"], "--grid_size squared"),
    (["--checkpoint=eval.py", "--mnist_dir=/no/such/mnist"], "'/no/such/mnist' does not exist"),
])
def test_eval_script_rejects_bad_flags_with_a_message(args, message):
    result = _run_eval(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
