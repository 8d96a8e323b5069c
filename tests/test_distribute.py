"""Scaling out GANModel: tf.distribute, mixed precision, XLA, and train.py's flags.

* MirroredStrategy over two logical CPU devices and a two-process
  MultiWorkerMirroredStrategy cluster on 127.0.0.1 run in subprocesses
  (`tests/distribute_worker.py`), since devices are fixed when TensorFlow
  first uses them; each prints JSON that the tests here compare with
  single-device references.
* Mixed precision and XLA run in this process; the dtype policy is restored
  to float32 whatever happens.
* train.py runs 2 steps of the full networks with --strategy=mirrored and
  --mixed_precision=mixed_bfloat16.

Networks are tiny Dense models on synthetic 8x8 images (tracing dominates).
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Any pytest import mode.
import distribute_worker as worker  # noqa: E402
from models import mnist as mnist_networks  # noqa: E402
from tfgan_losses.losses import gradient_penalty as gradient_penalty_module  # noqa: E402
from tfgan_losses.training.callbacks import ClipWeights, TerminateOnNonFinite  # noqa: E402
from tfgan_losses.training import gan_model  # noqa: E402
from tfgan_losses.training.export import export_generator  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
WORKER = str(TESTS_DIR / "distribute_worker.py")
INITIAL_LOSS_SCALE = 2.0 ** 15   # keras.optimizers.LossScaleOptimizer's default.


# --------------------------------------------------------------------------- helpers
def _subprocess_env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                      os.environ.get("PYTHONPATH")]))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _kill(process):
    """Kills a process started with start_new_session=True, and its children."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _last_json_line(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def _run_workers(commands, envs, timeout):
    """Starts one process per command, waits for all (at most `timeout` s in total).

    Returns [(returncode, stdout, stderr)]; on timeout kills all of them and fails.
    """
    processes = [subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
                 for command, env in zip(commands, envs)]
    try:
        deadline = time.monotonic() + timeout
        outputs = []
        for process in processes:
            remaining = max(1.0, deadline - time.monotonic())
            stdout, stderr = process.communicate(timeout=remaining)
            outputs.append((process.returncode, stdout, stderr))
        return outputs
    except subprocess.TimeoutExpired:
        pytest.fail(f"{commands} did not finish within {timeout} s (killed).")
    finally:
        for process in processes:
            if process.poll() is None:
                _kill(process)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dtype_policy(name):
    """Sets Keras's global dtype policy for the block, then restores float32."""
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _dataset(data, batch_size):
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size, drop_remainder=True)


def _fit(gan, data, batch_size, callbacks=()):
    return gan.fit(_dataset(data, batch_size), epochs=1, verbose=0,
                   callbacks=list(callbacks)).history


def _assert_finite_logs(logs):
    for key, values in logs.items():
        assert np.all(np.isfinite(values)), (key, values)


# ------------------------------------------------------------ MirroredStrategy
@pytest.fixture(scope="module")
def mirrored_results():
    """`distribute_worker.py mirrored`: every MIRRORED_RUNS on 1 device and on 2 CPUs."""
    [(returncode, stdout, stderr)] = _run_workers(
        [[sys.executable, WORKER, "mirrored"]], [_subprocess_env()], timeout=300)
    assert returncode == 0, stderr[-4000:]
    return _last_json_line(stdout)


def test_mirrored_strategy_runs_on_two_logical_cpus(mirrored_results):
    assert mirrored_results["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    for run in mirrored_results["runs"].values():
        assert run["single"]["replicas"] == 1
        assert run["mirrored"]["replicas"] == 2


@pytest.mark.parametrize("name", sorted(worker.MIRRORED_RUNS))
def test_mirrored_step_equals_single_device_step(mirrored_results, name):
    """Two replicas on halves of a global batch end where one device does on all of it."""
    single, mirrored = (mirrored_results["runs"][name][key] for key in ("single", "mirrored"))
    _, discriminator_steps, optimizer = worker.MIRRORED_RUNS[name]
    steps = worker.STEPS
    assert single["iterations"] == mirrored["iterations"] == [steps * discriminator_steps,
                                                               steps]
    assert len(single["weights"]) == len(mirrored["weights"]) == 8  # 4 Dense layers.
    # Adam magnifies round-off of near-zero gradients (see MIRRORED_RUNS).
    atol = 1e-6 if optimizer == "sgd" else 1e-5
    for path, expected, actual in zip(single["weight_paths"], single["weights"],
                                      mirrored["weights"]):
        assert np.shape(actual) == np.shape(expected), path
        np.testing.assert_allclose(actual, expected, rtol=0, atol=atol, err_msg=path)
    assert set(mirrored["logs"]) == set(single["logs"])
    for key in single["logs"]:
        np.testing.assert_allclose(mirrored["logs"][key], single["logs"][key], rtol=1e-5,
                                   atol=1e-6, err_msg=key)


def test_mirrored_weights_moved_away_from_their_initial_values(mirrored_results):
    """Guards the comparison above against vacuous agreement (e.g. nothing trained)."""
    initial = worker.flat_weights(worker.build_gan())
    for name in worker.MIRRORED_RUNS:
        run = mirrored_results["runs"][name]
        trained = np.concatenate([np.ravel(w) for w in run["mirrored"]["weights"]])
        assert np.max(np.abs(trained - initial)) > 1e-3, name


def test_mirrored_step_with_tf_gan_mnist_networks_equals_single_device_step(mirrored_results):
    """Batch norm, spectral norm and weight decay, one step with the gradient penalty,
    and the generator's moving average."""
    run = mirrored_results["runs"]["mnist_tiny"]
    single, mirrored = run["single"], run["mirrored"]
    assert single["iterations"] == mirrored["iterations"] == [1, 1]
    assert any("generator_ema" in path for path in mirrored["weight_paths"])
    # All weights: also the batch-norm moving statistics, spectral-norm vectors
    # and the generator's moving average.
    for path, expected, actual in zip(single["weight_paths"], single["weights"],
                                      mirrored["weights"]):
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5, err_msg=path)
    for key in single["logs"]:
        np.testing.assert_allclose(mirrored["logs"][key], single["logs"][key], rtol=1e-4,
                                   atol=1e-6, err_msg=key)


def test_mirrored_evaluate_equals_single_device_evaluate(mirrored_results):
    """`test_step` on two replicas: their slices of one evaluation noise batch, losses
    averaged across replicas, as one device computes on the whole batch."""
    run = mirrored_results["runs"]["mnist_tiny"]
    single, mirrored = run["single"]["evaluation"], run["mirrored"]["evaluation"]
    assert set(single) == set(mirrored) == {
        "discriminator_loss", "generator_loss", "gradient_penalty", "real_output_mean",
        "generated_output_mean"}
    for key in single:
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize("loss_name", worker.KERAS_LOSSES)
def test_keras_loss_in_model_compile_gives_the_single_device_step(mirrored_results, loss_name):
    """The Loss classes divide by the replica count, as Keras's own losses do."""
    run = mirrored_results["keras_losses_in_compile"][loss_name]
    single, mirrored = run["single"], run["mirrored"]
    assert single["initial_weights"] == mirrored["initial_weights"]
    for initial, expected, actual in zip(single["initial_weights"], single["weights"],
                                         mirrored["weights"], strict=True):
        assert np.max(np.abs(np.subtract(expected, initial))) > 1e-3  # The step moved them.
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    # atol: the Wasserstein loss is a mean of O(1) outputs that can be near 0; the
    # replicas' sums round differently from the single device's by ~1e-7 absolute.
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=1e-6, atol=1e-6)


def test_mixed_float16_overflow_on_one_replica_skips_the_step_on_all(mirrored_results):
    """Keras's LossScaleOptimizer judges only the first replica's gradients; an overflow
    on the second replica alone must still skip the update and halve the scale."""
    run = mirrored_results["overflow_on_one_replica"]
    for result in run.values():
        assert result == {"loss_scale": INITIAL_LOSS_SCALE / 2, "weights_finite": True,
                          "discriminator_updates": 0}


@pytest.mark.parametrize("name", sorted(worker.MIRRORED_RUNS))
def test_replicas_draw_their_own_slices_of_the_single_device_noise(mirrored_results, name):
    single, mirrored = (mirrored_results["runs"][name][key] for key in ("single", "mirrored"))
    _, discriminator_steps, _ = worker.MIRRORED_RUNS[name]
    draws = worker.STEPS * (discriminator_steps + 1)  # D updates + 1 G update per step.
    assert set(single["noise"]) == {"0"} and set(mirrored["noise"]) == {"0", "1"}
    assert len(single["noise"]["0"]) == len(mirrored["noise"]["0"]) == \
        len(mirrored["noise"]["1"]) == draws
    for expected, first, second in zip(single["noise"]["0"], mirrored["noise"]["0"],
                                       mirrored["noise"]["1"]):
        first, second = np.array(first), np.array(second)
        assert first.shape == second.shape == (worker.PER_REPLICA, worker.NOISE_DIMS)
        # Replica r holds rows [r * n, (r + 1) * n) of the global draw: the same
        # random numbers, bit for bit, as the single device's draw.
        np.testing.assert_array_equal(np.concatenate([first, second]), expected)
        assert not np.any(np.all(first == second, axis=1))


# ------------------------------------------------------- MultiWorkerMirrored
MULTI_WORKER_TIMEOUT_S = 90  # Both workers, start to finish; ~30 s on 2 idle cores.


@pytest.fixture(scope="module")
def multi_worker_results():
    """Two `distribute_worker.py multi_worker` processes forming a cluster on 127.0.0.1."""
    ports = [_free_port() for _ in range(2)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    envs = [_subprocess_env(TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        for index in range(2)]
    outputs = _run_workers([[sys.executable, WORKER, "multi_worker"]] * 2, envs,
                           timeout=MULTI_WORKER_TIMEOUT_S)
    for returncode, _, stderr in outputs:
        assert returncode == 0, stderr[-4000:]
    return [_last_json_line(stdout) for _, stdout, _ in outputs]


def _single_device_reference():
    """The multi-worker run's training on one device, on the same global batches."""
    global_batch = 2 * worker.PER_REPLICA
    gan = worker.build_gan(compile_kwargs=worker.LOSSES["gradient_penalty"],
                           generator_ema_decay=worker.MULTI_WORKER_EMA_DECAY)
    history = gan.fit(worker.multi_worker_dataset(global_batch), epochs=1, verbose=0)
    return worker.flat_weights(gan), history.history


def test_multi_worker_training_keeps_workers_in_sync(multi_worker_results):
    """Two workers (one replica each) train the GAN and end with identical weights, equal
    to one device's training on the same global batches."""
    first, second = multi_worker_results
    assert [first["task"]["index"], second["task"]["index"]] == [0, 1]
    assert first["replicas"] == second["replicas"] == 2
    results = [result["gan_model"] for result in multi_worker_results]
    for result in results:
        assert result["error"] is None, result["error"]
        assert result["iterations"] == worker.MULTI_WORKER_STEPS
    assert results[0]["sha256"] == results[1]["sha256"]
    assert results[0]["logs"] == results[1]["logs"]
    expected_weights, expected_logs = _single_device_reference()
    np.testing.assert_allclose(results[0]["weights"], expected_weights, rtol=0, atol=1e-5)
    for key, values in expected_logs.items():
        np.testing.assert_allclose(results[0]["logs"][key], values, rtol=1e-4, atol=1e-6,
                                   err_msg=key)


# ------------------------------------------------------------- mixed precision
def _mixed_gan(**compile_kwargs):
    """The tiny Dense GAN with the plain loss, built under the current dtype policy."""
    return worker.build_gan(compile_kwargs=dict(worker.LOSSES["plain"], **compile_kwargs))


def _trainable(model):
    return [w.numpy() for w in model.trainable_weights]


def _assert_all_changed(before, model):
    for old, new in zip(before, model.trainable_weights):
        assert np.any(new.numpy() != old), new.path


def test_mixed_float16_wraps_both_optimizers_and_keeps_the_scale_while_finite():
    data = worker.images(3 * 8)
    with dtype_policy("mixed_float16"):
        gan = _mixed_gan(gradient_penalty_weight=10.0)
        before = _trainable(gan)
        for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
            assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
            assert isinstance(optimizer.dynamic_scale, keras.Variable)
            assert float(optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE
        logs = _fit(gan, data, 8)
    _assert_finite_logs(logs)
    _assert_all_changed(before, gan)
    # Three finite steps, far fewer than dynamic_growth_steps (2000): unchanged.
    assert float(gan.generator_optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE
    assert float(gan.discriminator_optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE
    assert gan.generator_optimizer.iterations.numpy() == 3
    assert all(w.dtype == "float32" for w in gan.weights)
    assert gan.generator(np.zeros((1, worker.NOISE_DIMS), np.float32)).dtype == "float16"


def test_mixed_float16_loss_scale_doubles_after_dynamic_growth_steps():
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3),
                                                    dynamic_growth_steps=2)
    with dtype_policy("mixed_float16"):
        gan = _mixed_gan(generator_optimizer=optimizer)
        assert gan.generator_optimizer is optimizer  # Not wrapped twice.
        _fit(gan, worker.images(4 * 8), 8)
    assert float(optimizer.dynamic_scale.numpy()) == 4 * INITIAL_LOSS_SCALE
    assert float(gan.discriminator_optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE


def test_mixed_float16_overflow_halves_the_scale_and_skips_the_update():
    def huge_generator_loss(real_outputs, generated_outputs):
        del real_outputs  # d(loss)/d(logits) * 2**15 overflows float16 (max 65504).
        return 1e8 * ops.mean(ops.cast(generated_outputs, "float32"))

    with dtype_policy("mixed_float16"):
        gan = _mixed_gan(generator_loss=huge_generator_loss)
        generator_before = _trainable(gan.generator)
        discriminator_before = _trainable(gan.discriminator)
        logs = _fit(gan, worker.images(8), 8)
    _assert_finite_logs(logs)
    assert float(gan.generator_optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE / 2
    assert float(gan.discriminator_optimizer.dynamic_scale.numpy()) == INITIAL_LOSS_SCALE
    for before, after in zip(generator_before, gan.generator.trainable_weights):
        np.testing.assert_array_equal(after.numpy(), before)  # Skipped.
    _assert_all_changed(discriminator_before, gan.discriminator)
    # The step counts though its generator update was skipped (StopAtStep, resuming).
    assert int(gan.generator_optimizer.iterations.numpy()) == 0 and gan.global_step == 1


def _gradient_penalty(discriminator, weights, real, generated, gradient_scale):
    discriminator.set_weights(weights)  # Training calls of spectral norm change them.
    return float(gradient_penalty_module.wasserstein_gradient_penalty(
        real, generated, None, lambda x, _: discriminator(x, training=True), seed=3,
        gradient_scale=gradient_scale))


@pytest.mark.parametrize("sizes", [
    pytest.param({}, id="full"),
    pytest.param(mnist_networks.TINY_SIZES, id="tiny"),
])
def test_mixed_float16_gradient_penalty_equals_float32(sizes):
    """TF-GAN's MNIST critic, same weights and interpolation draws: the penalty with the
    loss-scaled float16 inner gradient (as in a train step) matches float32."""
    rng = np.random.default_rng(0)
    real, generated = (rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32) for _ in "ab")
    keras.utils.set_random_seed(0)
    critic32 = mnist_networks.unconditional_discriminator(**sizes)
    weights = critic32.get_weights()
    with dtype_policy("mixed_float16"):
        critic16 = mnist_networks.unconditional_discriminator(**sizes)
    # The scale a train step passes: the discriminator optimizer's, initially 2**15.
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
    optimizer.build(critic16.trainable_variables)
    scale = optimizer.dynamic_scale
    assert float(scale.numpy()) == INITIAL_LOSS_SCALE
    expected = _gradient_penalty(critic32, weights, real, generated, None)
    assert expected > 1e-3
    for gradient_scale in (None, scale):
        actual = _gradient_penalty(critic16, weights, real, generated, gradient_scale)
        np.testing.assert_allclose(actual, expected, rtol=2e-2)


def test_mixed_float16_gradient_penalty_survives_loss_scale_growth():
    """The scale doubles to 2**16 after each finite step here (default: 2000 steps)."""
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-4),
                                                    dynamic_growth_steps=1)
    with dtype_policy("mixed_float16"):
        gan = _mixed_gan(discriminator_optimizer=optimizer, gradient_penalty_weight=10.0)
        logs = _fit(gan, worker.images(3 * 8), 8, callbacks=[TerminateOnNonFinite()])
    _assert_finite_logs(logs)


def test_mixed_float16_exported_generator_serves_float32(tmp_path):
    with dtype_policy("mixed_float16"):
        gan = _mixed_gan()
        _fit(gan, worker.images(8), 8)
        export_generator(gan.generator, tmp_path / "generator")
    noise = np.random.default_rng(0).standard_normal((3, worker.NOISE_DIMS)).astype(np.float32)
    serve = tf.saved_model.load(str(tmp_path / "generator")).signatures["serving_default"]
    images = serve(noise=tf.constant(noise))["images"]
    assert images.dtype == tf.float32 and images.shape == (3,) + worker.IMAGE_SHAPE
    np.testing.assert_allclose(images.numpy(), gan.generator(noise, training=False),
                               atol=2e-3)


def test_mixed_bfloat16_trains_without_loss_scaling():
    with dtype_policy("mixed_bfloat16"):
        gan = _mixed_gan(gradient_penalty_weight=10.0)
        before = _trainable(gan)
        logs = _fit(gan, worker.images(3 * 8), 8)
        assert gan.generator(np.zeros((1, worker.NOISE_DIMS), np.float32)).dtype == "bfloat16"
    for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
        assert not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert optimizer.iterations.numpy() == 3
    _assert_finite_logs(logs)
    assert np.all(np.isfinite(worker.flat_weights(gan)))
    _assert_all_changed(before, gan)
    assert all(w.dtype == "float32" for w in gan.weights)


# ------------------------------------------------------------------------- XLA
class FixedNoiseGAN(gan_model.GANModel):
    """Takes the generator's noise from the dataset (fed as `y`).

    TensorFlow's XLA lowering of the stateless random ops draws other numbers
    than its CPU kernels for the same seed, so XLA and non-XLA runs are
    compared with the randomness fed in from outside.
    """

    def sample_generator_inputs(self, batch_size, labels=None):
        return labels


def _fixed_interpolation_weights(draw, batch_size):
    """Deterministic alphas in (0.1, 0.9), one per example, in place of the random draw."""
    shape_like = ops.zeros_like(draw(batch_size))
    index = ops.cumsum(ops.ones_like(shape_like), axis=0)
    return 0.5 + 0.4 * ops.sin(index)


def _train_xla(jit_compile, loss, discriminator_steps):
    batch = 8 * discriminator_steps
    data = worker.images(2 * batch)
    noise = np.random.default_rng(1).standard_normal((2 * batch, worker.NOISE_DIMS))
    gan = worker.build_gan(FixedNoiseGAN, discriminator_steps,
                           dict(worker.LOSSES[loss], jit_compile=jit_compile))
    dataset = tf.data.Dataset.from_tensor_slices((data, noise.astype(np.float32))).batch(batch)
    callbacks = [ClipWeights(worker.CLIP_VALUE)] if loss == "clip" else []
    history = gan.fit(dataset, epochs=1, verbose=0, callbacks=callbacks)
    assert gan.jit_compile == jit_compile
    return worker.flat_weights(gan), history.history


def test_xla_matches_graph_mode(monkeypatch):
    """Two steps with the gradient penalty (nested tapes), same weights, data, noise and
    interpolation weights: the XLA-compiled train step lands on the same weights."""
    monkeypatch.setattr(gradient_penalty_module, "replica_slice_draw",
                        _fixed_interpolation_weights)
    graph_weights, graph_logs = _train_xla(False, "gradient_penalty", 1)
    xla_weights, xla_logs = _train_xla(True, "gradient_penalty", 1)
    initial = worker.flat_weights(worker.build_gan())
    assert np.max(np.abs(graph_weights - initial)) > 1e-3
    np.testing.assert_allclose(xla_weights, graph_weights, rtol=0, atol=1e-5)
    assert set(xla_logs) == set(graph_logs)
    for key in graph_logs:
        np.testing.assert_allclose(xla_logs[key], graph_logs[key], rtol=1e-5, atol=1e-5,
                                   err_msg=key)


# -------------------------------------------------------------------- train.py
def test_train_py_mirrored_mixed_bfloat16_smoke(mnist_dir, mnist_data_dir, tmp_path):
    """Two steps of the full networks with both flags (one run: each start costs ~15 s)."""
    log_dir = tmp_path / "log"
    command = [sys.executable, "train.py", f"--mnist_dir={mnist_dir}", "--strategy=mirrored",
               "--mixed_precision=mixed_bfloat16", "--max_number_of_steps=2",
               "--batch_size=4", "--grid_size=2", "--summary_interval_steps=1",
               # One recalibration batch of 500, not 20: bfloat16 is emulated, and slow,
               # on CPUs without native bfloat16.
               "--batch_norm_recalibration_batches=1", "--eval_images=0",
               f"--train_log_dir={log_dir}"]
    [(returncode, stdout, stderr)] = _run_workers(
        [command], [_subprocess_env(TFDS_DATA_DIR=str(mnist_data_dir))], timeout=240)
    assert returncode == 0, stderr[-4000:]
    assert "Trained 2 steps (now at step 2)" in stdout
    assert (log_dir / "checkpoint.keras").is_file() and (log_dir / "samples.png").is_file()
    serve = tf.saved_model.load(str(log_dir / "generator")).signatures["serving_default"]
    images = serve(noise=tf.random.normal([2, 64]))["images"]
    assert images.dtype == tf.float32 and images.shape == (2, 28, 28, 1)
    assert np.all(np.isfinite(images.numpy()))
