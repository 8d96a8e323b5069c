"""GANModel on every Keras backend: TensorFlow, JAX and PyTorch.

Two kinds of tests:

* Tests marked `all_backends` run in-process on the backend of the run
  (`KERAS_BACKEND`): every execution mode, save/load, evaluation, the
  conditional and InfoGAN models, mixed precision.
* Cross-backend tests, in the TensorFlow run, start `tests/backend_worker.py`
  under each backend: one train step from the same weights, noise and
  interpolation weights gives the same variables on all three; a `.keras`
  file written on one backend resumes on another; JAX's `DataParallel` over 2
  devices equals one device. They need jax and torch installed (CI installs
  them) and skip, saying so, where one is missing.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import tfgan_losses
from tfgan_losses import ConditionalGANModel, InfoGANModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backend_worker  # noqa: E402  pylint: disable=wrong-import-position

WORKER = Path(__file__).resolve().parent / "backend_worker.py"
BACKEND = keras.backend.backend()
OTHER_BACKENDS = ("jax", "torch")
LOG_KEYS = {"discriminator_loss", "generator_loss", "real_output_mean", "generated_output_mean"}
MODES = {"eager": {"run_eagerly": True}, "compiled": {"jit_compile": False},
         "xla": {"jit_compile": True}}
# The full step configuration: several discriminator and generator updates, the
# gradient penalty, weight clipping and the generator's weight average.
FULL = {"discriminator_steps": 2, "generator_steps": 2, "generator_ema_decay": 0.9,
        "seed": 3, "clip": 0.5, "compile": {"gradient_penalty_weight": 10.0}}


def data(rows=32, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, backend_worker.DATA_DIMS)).astype(
        "float32")


def numpy_state(model):
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


def mode_kwargs(mode):
    """`compile` arguments of an execution mode; XLA where the backend compiles with it."""
    if mode == "xla" and BACKEND == "torch":
        pytest.skip("PyTorch compiles with torch.compile, which cannot differentiate the "
                    "gradient penalty twice: see test_torch_compile_without_penalty.")
    return MODES[mode]


def full_gan(mode):
    config = {**FULL, "compile": {**FULL["compile"], **mode_kwargs(mode)}}
    keras.utils.set_random_seed(0)
    return backend_worker.build(config)


# --------------------------------------------------------------- on this backend
@pytest.mark.all_backends
@pytest.mark.parametrize("mode", MODES)
def test_full_step_trains_in_every_mode(mode):
    gan = full_gan(mode)
    before = numpy_state(gan.discriminator)
    history = gan.fit(data(), batch_size=16, epochs=1, verbose=0,
                      callbacks=[tfgan_losses.ClipWeights(FULL["clip"])])
    assert set(history.history) == LOG_KEYS | {"gradient_penalty"}
    assert all(np.isfinite(values).all() for values in history.history.values())
    # Two train steps of two generator and two discriminator updates each.
    assert gan.global_step == 2
    assert int(keras.ops.convert_to_numpy(gan.optimizer.iterations)) == 2
    assert int(keras.ops.convert_to_numpy(gan.generator_optimizer.iterations)) == 4
    assert int(keras.ops.convert_to_numpy(gan.discriminator_optimizer.iterations)) == 4
    after = numpy_state(gan.discriminator)
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    for variable in gan.discriminator.trainable_variables:
        assert np.abs(keras.ops.convert_to_numpy(variable)).max() <= FULL["clip"] + 1e-7
    averages = [keras.ops.convert_to_numpy(v) for v in gan._generator_averages]
    weights = [keras.ops.convert_to_numpy(v) for v in gan.generator.trainable_variables]
    assert any(not np.allclose(a, w) for a, w in zip(averages, weights))


@pytest.mark.all_backends
def test_compiled_step_equals_eager_step():
    """JAX: XLA; TensorFlow: tf.function (XLA draws other random numbers than TensorFlow's
    kernels from the same seed)."""
    if BACKEND == "torch":
        pytest.skip("PyTorch has no compiled mode for a step with the penalty")
    results = []
    for mode in ("eager", "xla" if BACKEND == "jax" else "compiled"):
        gan = full_gan(mode)
        gan.fit(data(), batch_size=16, epochs=1, verbose=0, shuffle=False)
        results.append(numpy_state(gan) + [keras.ops.convert_to_numpy(v)
                                           for v in gan.optimizer.variables])
    for index, (eager, compiled) in enumerate(zip(*results)):
        np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-6, err_msg=str(index))


@pytest.mark.all_backends
def test_torch_compile_without_penalty():
    if BACKEND != "torch":
        pytest.skip("PyTorch's torch.compile only")
    keras.utils.set_random_seed(0)
    gan = backend_worker.build({"seed": 1, "compile": {"jit_compile": True}})
    history = gan.fit(data(16), batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["discriminator_loss"]).all()
    with pytest.raises(ValueError, match="torch.compile has no double backward"):
        backend_worker.build({"compile": {"jit_compile": True, "gradient_penalty_weight": 1.0}})
    auto = backend_worker.build({"compile": {"gradient_penalty_weight": 1.0}})
    assert not auto.jit_compile


@pytest.mark.all_backends
def test_evaluate_changes_no_training_state_and_repeats():
    gan = full_gan("compiled")
    gan.fit(data(), batch_size=16, epochs=1, verbose=0)
    before = numpy_state(gan) + [keras.ops.convert_to_numpy(v) for v in gan.optimizer.variables]
    first = gan.evaluate(data(24, seed=5), batch_size=8, verbose=0, return_dict=True)
    second = gan.evaluate(data(24, seed=5), batch_size=8, verbose=0, return_dict=True)
    assert first == second and set(first) == LOG_KEYS | {"gradient_penalty"}
    after = numpy_state(gan) + [keras.ops.convert_to_numpy(v) for v in gan.optimizer.variables]
    skip = {id(gan.evaluation_seed_generator.state)}
    for variable, b, a in zip(list(gan.variables) + gan.optimizer.variables, before, after):
        if id(variable) not in skip:
            np.testing.assert_array_equal(a, b, err_msg=variable.path)


@pytest.mark.all_backends
def test_keras_file_resumes_as_uninterrupted_training(tmp_path):
    uninterrupted = full_gan("compiled")
    uninterrupted.fit(data(), batch_size=16, epochs=1, verbose=0, shuffle=False)
    uninterrupted.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.global_step == 2
    for gan in (uninterrupted, loaded):
        gan.fit(data(seed=1), batch_size=16, epochs=1, verbose=0, shuffle=False)
    for want, got in zip(numpy_state(uninterrupted), numpy_state(loaded)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert loaded.global_step == 4


@pytest.mark.all_backends
def test_optimizer_attribute_names_both_optimizers():
    gan = backend_worker.build({})
    with pytest.raises(AttributeError, match="generator_optimizer.learning_rate"):
        gan.optimizer.learning_rate  # pylint: disable=pointless-statement


def conditional_networks():
    noise, labels = keras.Input((4,)), keras.Input((3,))
    net = keras.layers.Concatenate()([noise, labels])
    generator = keras.Model([noise, labels], keras.layers.Dense(6)(net))
    images = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(images)
    discriminator = keras.Model(images, [keras.layers.Dense(1)(hidden),
                                         keras.layers.Dense(3)(hidden)])
    return generator, discriminator


def infogan_networks():
    noise, categorical, continuous = keras.Input((4,)), keras.Input((3,)), keras.Input((2,))
    net = keras.layers.Concatenate()([noise, categorical, continuous])
    generator = keras.Model([noise, categorical, continuous], keras.layers.Dense(6)(net))
    images = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(images)
    discriminator = keras.Model(images, [keras.layers.Dense(1)(hidden),
                                         keras.layers.Dense(3)(hidden),
                                         keras.layers.Dense(2)(hidden)])
    return generator, discriminator


@pytest.mark.all_backends
def test_acgan_and_infogan_train():
    labels = np.eye(3, dtype="float32")[np.arange(32) % 3]
    acgan = ConditionalGANModel(*conditional_networks(), aux_cond_generator_weight=1.0,
                                aux_cond_discriminator_weight=1.0, seed=0)
    acgan.compile(gradient_penalty_weight=1.0)
    history = acgan.fit(data(), labels, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["discriminator_loss"]).all()
    infogan = InfoGANModel(*infogan_networks(), seed=0)
    infogan.compile(generator_loss="modified_generator_loss",
                    discriminator_loss="modified_discriminator_loss")
    history = infogan.fit(data(), batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == LOG_KEYS | {"mutual_information_penalty"}
    assert np.isfinite(history.history["mutual_information_penalty"]).all()


@pytest.mark.all_backends
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        gan = full_gan("compiled")
        history = gan.fit(data(), batch_size=16, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(values).all() for values in history.history.values())
    scaled = isinstance(gan.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert scaled == isinstance(gan.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.global_step == 2


# ------------------------------------------------------------------ across backends
def run_worker(backend, *args, env=None):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (CI installs it)")
    result = subprocess.run(
        [sys.executable, str(WORKER), *args], capture_output=True, text=True, check=False,
        env={**os.environ, "KERAS_BACKEND": backend, **(env or {})}, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]


def initial_values(path, config, rows=16):
    """Weights, noise and interpolation weights for `config`'s first step."""
    rng = np.random.default_rng(7)
    generator, discriminator = backend_worker.networks()
    arrays = {f"g{i}": rng.normal(scale=0.5, size=w.shape).astype("float32")
              for i, w in enumerate(generator.weights)}
    arrays.update({f"d{i}": rng.normal(scale=0.5, size=w.shape).astype("float32")
                   for i, w in enumerate(discriminator.weights)})
    for name in list(arrays):  # Batch-norm variance and spectral-norm u: positive is sane.
        arrays[name] = np.abs(arrays[name]) if arrays[name].ndim == 1 else arrays[name]
    d_steps, g_steps = config.get("discriminator_steps", 1), config.get("generator_steps", 1)
    slice_rows = rows // d_steps
    for i in range(d_steps + g_steps):
        arrays[f"noise{i}"] = rng.normal(size=(slice_rows, backend_worker.NOISE_DIMS)).astype(
            "float32")
    for i in range(d_steps):
        arrays[f"alpha{i}"] = rng.uniform(size=(slice_rows, 1)).astype("float32")
    np.savez(path, data=data(rows), **arrays)


@pytest.mark.parametrize("config", [
    pytest.param(FULL, id="penalty_clip_average_2x2"),
    pytest.param({"compile": {"generator_loss": "modified_generator_loss",
                              "discriminator_loss": "modified_discriminator_loss"}},
                 id="modified_1x1"),
])
def test_one_step_is_the_same_on_every_backend(config, tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip("started from the TensorFlow run")
    initial_values(tmp_path / "initial.npz", config)
    results = {}
    for backend in ("tensorflow",) + OTHER_BACKENDS:
        run_worker(backend, "step", json.dumps(config), str(tmp_path / "initial.npz"),
                   str(tmp_path / f"{backend}.npz"))
        results[backend] = dict(np.load(tmp_path / f"{backend}.npz"))
    reference = results["tensorflow"]
    for backend in OTHER_BACKENDS:
        assert results[backend].keys() == reference.keys()
        for key, want in reference.items():
            np.testing.assert_allclose(results[backend][key], want, rtol=1e-4, atol=2e-6,
                                       err_msg=f"{backend} {key}")


@pytest.mark.parametrize("writer,reader", [("jax", "tensorflow"), ("torch", "jax")])
def test_keras_file_from_one_backend_resumes_on_another(writer, reader, tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip("started from the TensorFlow run")
    run_worker(writer, "train_and_save", json.dumps(FULL), str(tmp_path / "gan.keras"),
               str(tmp_path / "written.npz"))
    run_worker(reader, "resume", str(tmp_path / "gan.keras"), str(tmp_path / "resumed.npz"))
    written, resumed = np.load(tmp_path / "written.npz"), np.load(tmp_path / "resumed.npz")
    for key in written:
        np.testing.assert_array_equal(resumed[f"loaded_{key}"], written[key], err_msg=key)
    assert int(resumed["global_step"]) == 4
    assert np.isfinite(resumed["log_discriminator_loss"]).all()


def test_jax_data_parallel_step_equals_single_device(tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip("started from the TensorFlow run")
    run_worker("jax", "data_parallel", json.dumps(FULL), str(tmp_path / "out.npz"),
               env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    results = np.load(tmp_path / "out.npz")
    assert int(results["devices"]) == 2
    singles = [key for key in results if key.startswith("single_")]
    assert singles
    for key in singles:
        np.testing.assert_allclose(results["parallel_" + key[len("single_"):]], results[key],
                                   rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.all_backends
def test_callbacks_checkpoint_stop_summaries_and_nan_guard(tmp_path):
    gan = full_gan("compiled")
    noise = np.random.default_rng(0).normal(size=(4, backend_worker.NOISE_DIMS)).astype(
        "float32")
    summaries = tfgan_losses.GANSummaries(str(tmp_path / "logs"), noise, grid_size=2,
                                          every_n_steps=1)
    summaries.sample_grid = lambda: np.zeros((4, 4, 1), np.uint8)  # 6-feature "images"
    gan.fit(data(), batch_size=16, epochs=3, steps_per_epoch=2, verbose=0, callbacks=[
        tfgan_losses.TerminateOnNonFinite(), tfgan_losses.StopAtStep(3),
        tfgan_losses.GANCheckpoint(str(tmp_path / "gan.keras")), summaries])
    assert gan.global_step == 3
    # Saved at every epoch end, also that of the epoch StopAtStep ended.
    assert keras.models.load_model(tmp_path / "gan.keras").global_step == 3
    assert list((tmp_path / "logs").glob("events.out.tfevents*"))
    poisoned = data()
    poisoned[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="diverged"):
        gan.fit(poisoned, batch_size=16, epochs=1, verbose=0,
                callbacks=[tfgan_losses.TerminateOnNonFinite()])
