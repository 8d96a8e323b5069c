"""Tests for tfgan_losses.training.callbacks and tfgan_losses.training.export.

The exported SavedModel is reloaded in a separate Python process that cannot
import the project, to show that it needs no project code.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import mnist as mnist_networks
from tfgan_losses import data
from tfgan_losses.eval.image_grid import image_grid_uint8
from tfgan_losses.training import callbacks as gan_callbacks
from tfgan_losses.training.export import export_generator
from tfgan_losses.training.gan_model import GANModel

NOISE_DIMS = 8
BATCH = 8
LOG_KEYS = {"discriminator_loss", "generator_loss", "real_output_mean", "generated_output_mean"}


def dense_generator():
    noise = keras.Input((NOISE_DIMS,))
    net = keras.layers.Dense(16, activation="relu")(noise)
    net = keras.layers.Dense(28 * 28, activation="tanh")(net)
    return keras.Model(noise, keras.layers.Reshape((28, 28, 1))(net))


def dense_discriminator(nan_output=False):
    images = keras.Input((28, 28, 1))
    net = keras.layers.Dense(1)(keras.layers.Flatten()(images))
    if nan_output:
        net = keras.layers.Lambda(lambda logits: logits + float("nan"))(net)
    return keras.Model(images, net)


def dense_gan(nan_output=False, **compile_kwargs):
    keras.utils.set_random_seed(0)
    gan = GANModel(dense_generator(), dense_discriminator(nan_output), seed=0)
    gan.compile(**{"run_eagerly": True, **compile_kwargs})  # Eager: a few steps, no tracing.
    return gan


def batches(images, batch_size=BATCH):
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True)


@pytest.fixture(scope="module")
def mnist_images(mnist_dir, mnist_data_dir):
    """32 real MNIST test images in [-1, 1]."""
    dataset = data.load_mnist("test[:32]", batch_size=32, shuffle=False, mnist_dir=mnist_dir,
                              data_dir=mnist_data_dir)
    return next(iter(dataset)).numpy()


# ------------------------------------------------------------ TerminateOnNonFinite
def test_terminate_on_non_finite_raises_when_a_loss_becomes_nan(mnist_images):
    gan = dense_gan(nan_output=True)
    with pytest.raises(FloatingPointError, match="discriminator_loss|generator_loss"):
        gan.fit(batches(mnist_images), epochs=1, verbose=0,
                callbacks=[gan_callbacks.TerminateOnNonFinite()])
    # It stopped at the first step.
    assert int(gan.generator_optimizer.iterations) == 1


def test_terminate_on_non_finite_raises_when_training_diverges(mnist_images):
    # Modified losses saturate to finite values; least squares with a huge
    # learning rate overflows to inf, then NaN.
    gan = dense_gan(
        generator_loss="least_squares_generator_loss",
        discriminator_loss="least_squares_discriminator_loss",
        generator_optimizer=keras.optimizers.SGD(1e12),
        discriminator_optimizer=keras.optimizers.SGD(1e12))
    dataset = batches(mnist_images).repeat()
    with pytest.raises(FloatingPointError, match="Training diverged"):
        gan.fit(dataset, epochs=1, steps_per_epoch=20, verbose=0,
                callbacks=[gan_callbacks.TerminateOnNonFinite()])
    assert gan.global_step < 20


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.array([1.0, np.nan])])
def test_terminate_on_non_finite_checks_every_logged_value(value):
    callback = gan_callbacks.TerminateOnNonFinite()
    callback.on_train_batch_end(0, {"discriminator_loss": 1.0, "gradient_penalty": 0.5})
    callback.on_train_batch_end(0, None)
    with pytest.raises(FloatingPointError, match="gradient_penalty"):
        callback.on_train_batch_end(3, {"discriminator_loss": 1.0, "gradient_penalty": value})


# ------------------------------------------------- checkpoints, steps, summaries
def test_gan_checkpoint_saves_every_epoch_atomically(mnist_images, tmp_path):
    path = tmp_path / "checkpoint.keras"
    gan = dense_gan()
    saved_steps = []

    class RecordSavedStep(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved_steps.append(keras.models.load_model(path).global_step)

    gan.fit(batches(mnist_images).repeat(), epochs=3, steps_per_epoch=2, verbose=0,
            callbacks=[gan_callbacks.GANCheckpoint(str(path)), RecordSavedStep()])
    assert saved_steps == [2, 4, 6]
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.keras"]  # No temporary file left.


def test_gan_checkpoint_failure_keeps_the_previous_checkpoint(mnist_images, tmp_path,
                                                              monkeypatch):
    path = tmp_path / "checkpoint.keras"
    gan = dense_gan()
    gan.fit(batches(mnist_images), epochs=1, steps_per_epoch=1, verbose=0,
            callbacks=[gan_callbacks.GANCheckpoint(str(path))])
    before = path.read_bytes()

    def failing_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as stream:
            stream.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(GANModel, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        gan.fit(batches(mnist_images), epochs=1, steps_per_epoch=1, verbose=0,
                callbacks=[gan_callbacks.GANCheckpoint(str(path))])
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert keras.models.load_model(path).global_step == 1


def test_gan_checkpoint_refuses_non_finite_weights(mnist_images, tmp_path):
    """A last update that makes the weights NaN with finite logged losses (the losses are
    computed before it) must not overwrite the good checkpoint."""
    path = tmp_path / "checkpoint.keras"
    gan = dense_gan()
    gan.fit(batches(mnist_images), epochs=1, steps_per_epoch=1, verbose=0,
            callbacks=[gan_callbacks.GANCheckpoint(str(path))])
    before = path.read_bytes()

    class PoisonAfterLastStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            kernel = self.model.generator.layers[-2].kernel
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))

    with pytest.raises(FloatingPointError, match="non-finite values in .*kernel"):
        gan.fit(batches(mnist_images), epochs=1, steps_per_epoch=1, verbose=0,
                callbacks=[gan_callbacks.TerminateOnNonFinite(), PoisonAfterLastStep(),
                           gan_callbacks.GANCheckpoint(str(path))])
    assert path.read_bytes() == before
    moment = gan.discriminator_optimizer.variables[-1]
    moment.assign(np.full(moment.shape, np.inf, np.float32))
    with pytest.raises(FloatingPointError, match="non-finite"):
        gan_callbacks.check_finite_weights(gan, "the model")


def test_stop_at_step_ends_fit_at_the_global_step(mnist_images):
    gan = dense_gan()
    history = gan.fit(batches(mnist_images).repeat(), epochs=10, steps_per_epoch=2, verbose=0,
                      callbacks=[gan_callbacks.StopAtStep(3)])
    assert gan.global_step == 3
    assert len(history.history["generator_loss"]) == 2  # Stopped during the second epoch.
    # It counts global steps, not this fit's steps: a resumed fit stops at once.
    gan.fit(batches(mnist_images).repeat(), epochs=10, steps_per_epoch=2, verbose=0,
            callbacks=[gan_callbacks.StopAtStep(3)])
    assert gan.global_step == 4


def _read_events(log_dir):
    scalars, images = {}, {}
    for name in os.listdir(log_dir):
        if not name.startswith("events.out.tfevents"):
            continue
        for event in tf.compat.v1.train.summary_iterator(os.path.join(log_dir, name)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "images":
                    images.setdefault(value.tag, {})[event.step] = tensor
                else:
                    scalars.setdefault(value.tag, {})[event.step] = float(tensor)
    return scalars, images


def test_gan_summaries_write_scalars_and_a_sample_grid(mnist_images, tmp_path):
    gan = dense_gan()
    grid_noise = np.random.default_rng(0).standard_normal((4, NOISE_DIMS)).astype(np.float32)
    summaries = gan_callbacks.GANSummaries(str(tmp_path), grid_noise, grid_size=2,
                                           every_n_steps=2)
    history = gan.fit(batches(mnist_images), epochs=1, verbose=0, callbacks=[summaries])
    scalars, images = _read_events(tmp_path)

    assert set(scalars) == LOG_KEYS
    for key in LOG_KEYS:
        assert sorted(scalars[key]) == [2, 4]
    np.testing.assert_allclose(scalars["generator_loss"][4], history.history["generator_loss"][0],
                               rtol=1e-6)
    assert set(images) == {"generated_images"} and sorted(images["generated_images"]) == [2, 4]
    grid = summaries.sample_grid()
    assert grid.shape == (56, 56, 1) and grid.dtype == np.uint8
    expected = image_grid_uint8(
        gan.generator(grid_noise, training=False).numpy(), 2)
    np.testing.assert_array_equal(grid, expected)


def test_image_grid_uint8_tiles_row_major_and_maps_minus_one_one_to_0_255():
    images = np.stack([np.full((2, 3, 1), value, np.float32) for value in (-1.0, 0.0, 0.5, 1.0)])
    grid = image_grid_uint8(images, 2)
    assert grid.shape == (4, 6, 1) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:2, :3], 0)      # Image 0, top left.
    np.testing.assert_array_equal(grid[:2, 3:], 128)    # Image 1, top right: round(127.5).
    np.testing.assert_array_equal(grid[2:, :3], 191)    # Image 2, bottom left: round(191.25).
    np.testing.assert_array_equal(grid[2:, 3:], 255)    # Image 3.
    # Values outside [-1, 1] are clipped; extra images are ignored.
    grid = image_grid_uint8(np.full((5, 1, 1, 3), 3.0, np.float32), 2)
    np.testing.assert_array_equal(grid, 255)
    with pytest.raises(ValueError, match="grid"):
        image_grid_uint8(images[:3], 2)


# -------------------------------------------------------------------- export
_RELOAD_WITHOUT_PROJECT = textwrap.dedent("""
    import importlib.abc, json, sys

    class BlockProject(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tfgan_losses", "models"):
                raise ImportError(f"project module {name} imported")
            return None

    sys.meta_path.insert(0, BlockProject())
    import numpy as np
    import tensorflow as tf

    export_dir, noise_path, images_path = sys.argv[1:]
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures["serving_default"]
    outputs = serve(noise=tf.constant(np.load(noise_path)))
    np.save(images_path, outputs["images"].numpy())
    assert "tfgan_losses" not in sys.modules and "models" not in sys.modules
    print(json.dumps({
        "outputs": sorted(outputs),
        "inputs": sorted(serve.structured_input_signature[1]),
        "dtype": outputs["images"].dtype.name,
        "project_modules": sorted(m for m in sys.modules
                                  if m.split(".")[0] in ("tfgan_losses", "models")),
    }))
""")


def _project_free_env():
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "TFGAN_MNIST_DIR")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # A serving process: loading the SavedModel imports Keras, which with
    # KERAS_BACKEND=torch would import PyTorch after TensorFlow (a crash).
    env["KERAS_BACKEND"] = "tensorflow"
    return env


def _tiny_generator_with_moving_statistics():
    """TF-GAN's tiny generator with non-trivial batch-norm moving statistics, so
    inference mode differs from training mode and from a fresh network."""
    keras.utils.set_random_seed(1)
    generator = mnist_networks.unconditional_generator(NOISE_DIMS, **mnist_networks.TINY_SIZES)
    noise = np.random.default_rng(1).standard_normal((16, NOISE_DIMS)).astype(np.float32)
    for _ in range(3):
        generator(2.0 * noise + 1.0, training=True)
    return generator


def _archive_class():
    """The class of the archives `keras.export.ExportArchive()` makes: with the
    TensorFlow backend a subclass, so patching `ExportArchive` itself does nothing."""
    return type(keras.export.ExportArchive())


def _leftovers(parent):
    return [name for name in os.listdir(parent) if name.startswith(".export-")]


@pytest.mark.all_backends  # On JAX and PyTorch, TensorFlow's Keras writes it in a subprocess.
def test_exported_generator_runs_without_the_project(tmp_path):
    generator = _tiny_generator_with_moving_statistics()
    noise = np.random.default_rng(2).standard_normal((5, NOISE_DIMS)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    export_dir = tmp_path / "out" / "generator"

    assert export_generator(generator, str(export_dir)) == str(export_dir)

    assert (export_dir / "saved_model.pb").is_file()
    assert _leftovers(export_dir.parent) == []
    work_dir = tmp_path / "elsewhere"
    work_dir.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", _RELOAD_WITHOUT_PROJECT, str(export_dir),
         str(tmp_path / "noise.npy"), str(tmp_path / "images.npy")],
        cwd=work_dir, env=_project_free_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"outputs": ["images"], "inputs": ["noise"], "dtype": "float32",
                      "project_modules": []}
    images = np.load(tmp_path / "images.npy")
    expected = keras.ops.convert_to_numpy(generator(noise, training=False))
    assert images.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(images, expected, atol=1e-5)
    # Inference mode: the moving statistics, not the batch's.
    training_mode = keras.ops.convert_to_numpy(generator(noise, training=True))
    assert np.max(np.abs(training_mode - expected)) > 1e-3


def _serve(export_dir, noise):
    loaded = tf.saved_model.load(str(export_dir))
    return loaded.signatures["serving_default"](noise=tf.constant(noise))["images"].numpy()


def test_export_replaces_an_existing_export(tmp_path):
    noise = np.random.default_rng(3).standard_normal((4, NOISE_DIMS)).astype(np.float32)
    export_dir = tmp_path / "generator"
    keras.utils.set_random_seed(10)
    first, second = dense_generator(), dense_generator()
    export_generator(first, str(export_dir))
    (export_dir / "stale.txt").write_text("from the first export")

    export_generator(second, str(export_dir))

    assert not (export_dir / "stale.txt").exists()
    np.testing.assert_allclose(_serve(export_dir, noise), second(noise).numpy(), atol=1e-5)
    assert np.max(np.abs(first(noise).numpy() - second(noise).numpy())) > 1e-3
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("occupant", ["folder", "file"])
def test_export_refuses_to_replace_anything_but_an_export(tmp_path, occupant):
    target = tmp_path / "logs"
    if occupant == "folder":
        target.mkdir()
        (target / "checkpoint.keras").write_text("not a SavedModel")
    else:
        target.write_text("a file")
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match="exists and is not a SavedModel"):
        export_generator(dense_generator(), str(target))
    assert _tree(tmp_path) == before and _leftovers(tmp_path) == []
    (tmp_path / "empty").mkdir()  # An empty folder is free.
    export_generator(dense_generator(), str(tmp_path / "empty"))
    assert (tmp_path / "empty" / "saved_model.pb").is_file()


def _tree(folder):
    return {os.path.relpath(os.path.join(root, name), folder):
            open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(folder) for name in names}


def test_interrupted_export_keeps_the_previous_export(tmp_path, monkeypatch):
    noise = np.random.default_rng(4).standard_normal((4, NOISE_DIMS)).astype(np.float32)
    export_dir = tmp_path / "generator"
    keras.utils.set_random_seed(11)
    first, second = dense_generator(), dense_generator()
    export_generator(first, str(export_dir))
    before = _tree(export_dir)
    original_write_out = _archive_class().write_out

    def write_half_then_fail(self, filepath, *args, **kwargs):
        original_write_out(self, filepath, *args, **kwargs)
        os.remove(os.path.join(filepath, "saved_model.pb"))  # Half written.
        raise KeyboardInterrupt

    monkeypatch.setattr(_archive_class(), "write_out", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        export_generator(second, str(export_dir))
    monkeypatch.undo()

    assert _tree(export_dir) == before
    assert _leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["generator"]
    np.testing.assert_allclose(_serve(export_dir, noise), first(noise).numpy(), atol=1e-5)


def test_first_export_interrupted_leaves_nothing(tmp_path, monkeypatch):
    def fail(self, filepath, *args, **kwargs):
        os.makedirs(filepath)
        raise OSError("no space left on device")

    monkeypatch.setattr(_archive_class(), "write_out", fail)
    with pytest.raises(OSError, match="no space"):
        export_generator(dense_generator(), str(tmp_path / "generator"))
    assert os.listdir(tmp_path) == []


def test_export_names_inputs_and_checks_their_number(tmp_path):
    with pytest.raises(ValueError, match="input_names"):
        export_generator(dense_generator(), str(tmp_path / "generator"),
                         input_names=["noise", "labels"])
    assert os.listdir(tmp_path) == []
    export_dir = export_generator(dense_generator(), str(tmp_path / "generator"),
                                  input_names=["z"])
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["z"]
