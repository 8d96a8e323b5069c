"""End-to-end tests of train.py, run as a subprocess with TF-GAN's full MNIST networks.

The runs read the MNIST records that the session fixture `mnist_data_dir`
prepared (through `TFDS_DATA_DIR`), so nothing is rebuilt or downloaded, and
train only a few steps (about 0.2 s each on 2 CPU cores).
"""

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_losses import recalibrate_batch_norm

TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train.py"
RECORDER = Path(__file__).resolve().parent / "train_input_recorder.py"
# Two recalibration batches instead of 20: each batch of 500 takes about 0.7 s on 2 cores.
RECALIBRATION_BATCHES = 2
COMMON_FLAGS = ["--save_interval_steps=2", "--summary_interval_steps=2", "--batch_size=8",
                "--grid_size=3", f"--batch_norm_recalibration_batches={RECALIBRATION_BATCHES}",
                "--eval_images=0"]


def _env(mnist_data_dir, native_logs=False):
    """The environment of a train.py run; TensorFlow's native INFO and WARNING lines are
    left out unless `native_logs`."""
    env = {key: value for key, value in os.environ.items() if key != "TFGAN_MNIST_DIR"}
    env["TFDS_DATA_DIR"] = str(mnist_data_dir)
    if not native_logs:
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def _command(log_dir, mnist_dir, *flags):
    return [sys.executable, str(TRAIN_SCRIPT), f"--train_log_dir={log_dir}",
            f"--mnist_dir={mnist_dir}", *flags]


def _train(log_dir, mnist_dir, mnist_data_dir, *flags, native_logs=False):
    """Runs train.py (through RECORDER, which prints every step's inputs); returns
    (stdout, stderr)."""
    result = subprocess.run([sys.executable, str(RECORDER)]
                            + _command(log_dir, mnist_dir, *COMMON_FLAGS, *flags)[1:],
                            cwd=log_dir.parent, env=_env(mnist_data_dir, native_logs),
                            capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return result.stdout, result.stderr


def _step_inputs(output):
    """(real-batch sum, noise seed state) of every train step a run printed."""
    return re.findall(r"TRAIN_STEP_INPUTS (\S+) \[(\d+) (\d+)\]", output)


def _scalar_steps(log_dir, tag):
    steps = []
    for path in sorted(log_dir.glob("events.out.tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


def _optimizer_iterations(checkpoint_path):
    """Both optimizers' `iterations`, read from the .keras archive without loading it."""
    with zipfile.ZipFile(checkpoint_path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        return {name: int(weights[f"{name}/vars/0"][()])
                for name in ("generator_optimizer", "discriminator_optimizer")}


class _FirstRun:
    """Outputs of the first run, recorded before the resume test changes them."""


@pytest.fixture(scope="module")
def first_run(mnist_dir, mnist_data_dir, tmp_path_factory):
    run = _FirstRun()
    run.log_dir = tmp_path_factory.mktemp("train_script") / "mnist"
    run.stdout, run.stderr = _train(run.log_dir, mnist_dir, mnist_data_dir,
                                    "--max_number_of_steps=4", "--eval_images=100",
                                    "--eval_interval_steps=2", native_logs=True)
    run.output = run.stdout + run.stderr
    run.files = sorted(os.listdir(run.log_dir))
    run.summary_steps = _scalar_steps(run.log_dir, "generator_loss")
    run.image_steps = _scalar_steps(run.log_dir, "generated_images")
    run.quality_steps = [_scalar_steps(run.log_dir, tag)
                         for tag in ("mnist_score", "mnist_frechet_distance")]
    run.iterations = _optimizer_iterations(run.log_dir / "checkpoint.keras")
    run.samples = tf.io.decode_png(tf.io.read_file(str(run.log_dir / "samples.png"))).numpy()
    noise = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    serve = tf.saved_model.load(str(run.log_dir / "generator")).signatures["serving_default"]
    run.exported_images = serve(noise=tf.constant(noise))["images"].numpy()
    run.export_noise = noise
    run.checkpoint_copy = run.log_dir.parent / "checkpoint_at_step_4.keras"
    shutil.copy(run.log_dir / "checkpoint.keras", run.checkpoint_copy)
    return run


def test_training_writes_checkpoint_samples_summaries_and_export(first_run):
    assert "Generating dataset" not in first_run.output  # Reused the prepared records.
    assert "Resuming" not in first_run.output
    log_dir = re.escape(str(first_run.log_dir))
    assert re.search(
        rf"Trained 4 steps \(now at step 4\) in \d+ s, \d+ images/s\.\n"
        rf"  samples: +{log_dir}/samples\.png\n  generator: +{log_dir}/generator \(SavedModel\)\n"
        rf"  checkpoint: +{log_dir}/checkpoint\.keras\n"
        rf"MNIST score of the export on 100 samples: \d\.\d\d \(0\.\d\d of real test images' "
        rf"9\.\d\d\), Frechet distance \d+\.\d\d", first_run.stdout)
    files = first_run.files
    assert {"checkpoint.keras", "samples.png", "generator"} <= set(files)
    assert any(name.startswith("events.out.tfevents") for name in files)
    assert not [name for name in files if "partial" in name or name.startswith(".export-")]
    assert first_run.iterations == {"generator_optimizer": 4, "discriminator_optimizer": 4}
    assert first_run.summary_steps == [2, 4] and first_run.image_steps == [2, 4]
    # --eval_interval_steps=2: the quality measurement in the progress bar and TensorBoard.
    assert re.search(r"mnist_score: \d+\.\d+ - mnist_frechet_distance: \d+\.\d+",
                     first_run.stdout), first_run.stdout[-3000:]
    assert first_run.quality_steps == [[2, 4], [2, 4]]
    assert first_run.samples.shape == (3 * 28, 3 * 28, 1)
    assert first_run.samples.dtype == np.uint8 and first_run.samples.std() > 0
    images = first_run.exported_images
    assert images.shape == (8, 28, 28, 1) and images.dtype == np.float32
    assert np.all(np.abs(images) <= 1.0) and np.all(np.isfinite(images))


def test_a_healthy_run_prints_no_error_or_warning_lines(first_run):
    """TensorFlow's known-harmless native ERROR lines are filtered (cuInit without a
    driver, the remapper's LeakyReluGrad fusion, oneDNN's uint8 fallback); no other
    ERROR or WARNING line, native or Python, appears."""
    for line in first_run.stderr.splitlines():
        assert not (re.match(r"(E|W)\d{4} |WARNING|ERROR", line)
                    or re.search(r"\w+Warning: ", line)), line


def test_checkpoint_loads_in_a_process_that_imports_only_tfgan_losses(first_run, tmp_path):
    """Every layer of the networks is Keras's or the library's: no examples folder needed."""
    script = textwrap.dedent("""
        import importlib.abc, sys

        class BlockExamples(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "models":
                    raise ImportError("the examples' models package was imported")

        sys.meta_path.insert(0, BlockExamples())
        import keras
        import tfgan_losses

        gan = keras.models.load_model(sys.argv[1])
        print(type(gan).__name__, gan.global_step, gan.generator.count_params())
    """)
    result = subprocess.run([sys.executable, "-c", script, str(first_run.checkpoint_copy)],
                            cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["GANModel", "4", "6682081"]


def _recalibrated_images(generator, draws, noise):
    recalibrate_batch_norm(generator, draws)
    return generator(noise, training=False).numpy()


def test_export_is_the_weight_average_with_recalibrated_batch_norm(first_run):
    """train.py exports the generator's moving average with batch norm recalibrated over
    --batch_norm_recalibration_batches batches of 500 noise vectors drawn with seeds 1, 2,
    ... (seed flag 0); the checkpoint keeps the last weights beside the average."""
    gan = keras.models.load_model(first_run.checkpoint_copy)
    assert gan.generator_ema_decay == 0.999
    draws = [np.random.default_rng(1 + batch).standard_normal((500, 64)).astype(np.float32)
             for batch in range(RECALIBRATION_BATCHES)]
    last = _recalibrated_images(gan.generator, draws, first_run.export_noise)
    with gan.generator_average():
        average = _recalibrated_images(gan.generator, draws, first_run.export_noise)
    np.testing.assert_allclose(first_run.exported_images, average, atol=1e-4)
    assert np.abs(first_run.exported_images - last).max() > 0.01


def test_running_again_resumes_from_the_checkpoint(first_run, mnist_dir, mnist_data_dir):
    output = "".join(_train(first_run.log_dir, mnist_dir, mnist_data_dir,
                            "--max_number_of_steps=6"))

    assert re.search(r"Resuming from .*checkpoint\.keras at step 4\.", output), output[-3000:]
    assert re.search(r"Trained 2 steps \(now at step 6\)", output), output[-3000:]
    assert _optimizer_iterations(first_run.log_dir / "checkpoint.keras") == {
        "generator_optimizer": 6, "discriminator_optimizer": 6}
    # Summaries continue the global step; none is written twice.
    assert _scalar_steps(first_run.log_dir, "generator_loss") == [2, 4, 6]
    # The resumed run trains on the batches and noise that an uninterrupted run
    # trains on at steps 5 and 6. (Its weights are not compared: CPU kernels round
    # differently from process to process, and Adam's first updates, about the
    # learning rate times each gradient's sign, make that visible within steps.)
    uninterrupted = "".join(_train(first_run.log_dir.parent / "uninterrupted", mnist_dir,
                                   mnist_data_dir, "--max_number_of_steps=6"))
    straight = _step_inputs(uninterrupted)
    assert len(straight) == 6 and len(set(straight)) == 6
    assert _step_inputs(first_run.output) == straight[:4]
    assert _step_inputs(output) == straight[4:]


def test_resuming_with_contradicting_flags_fails_and_keeps_the_checkpoint(
        first_run, mnist_dir, mnist_data_dir):
    checkpoint = first_run.log_dir / "checkpoint.keras"
    before = _optimizer_iterations(checkpoint)
    result = subprocess.run(
        _command(first_run.log_dir, mnist_dir, *COMMON_FLAGS, "--max_number_of_steps=8",
                 "--gan_type=conditional", "--discriminator_steps=2", "--noise_dims=64"),
        cwd=first_run.log_dir.parent, env=_env(mnist_data_dir), capture_output=True,
        text=True, timeout=420)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "--gan_type=conditional (the checkpoint has unconditional)" in output, output[-3000:]
    assert "--discriminator_steps=2 (the checkpoint has 1)" in output
    assert "--noise_dims" not in output.split("differ from its settings")[-1]  # It agrees.
    assert _optimizer_iterations(checkpoint) == before


BAD_FLAGS = {
    "negative_clip": (["--clip_weight=-1"], ["--clip_weight must be a positive number"]),
    "unknown_loss": (["--generator_loss=nonsense"],
                     ["flag --generator_loss=nonsense", "value should be one of"]),
    "zero_batch": (["--batch_size=0"], ["flag --batch_size=0"]),
    "ema_decay_one": (["--generator_ema_decay=1"], ["flag --generator_ema_decay=1"]),
    "negative_recalibration": (["--batch_norm_recalibration_batches=-1"],
                               ["flag --batch_norm_recalibration_batches=-1"]),
    "negative_seed": (["--seed=-1"], ["flag --seed=-1"]),
    "empty_log_dir": (["--train_log_dir="], ["--train_log_dir must not be empty"]),
    # The runs start in the folder that holds their --train_log_dir.
    "export_over_log_dir": (["--export_dir=."], ["would replace the folder that holds"]),
    "missing_mnist_dir": (["--mnist_dir=/nonexistent"],
                          ["Flags parsing error", "'/nonexistent'", "does not exist"]),
    # The ACGAN losses need class labels and class logits, which this
    # unconditional script has not: the flag must be refused up front.
    "acgan_loss": (["--generator_loss=acgan_generator_loss"],
                   ["Flags parsing error", "--generator_loss=acgan_generator_loss"]),
}


@pytest.fixture(scope="module")
def bad_flag_runs(mnist_dir, mnist_data_dir, tmp_path_factory):
    """Runs train.py once per BAD_FLAGS entry, all at once (each run spends most
    of its time importing TensorFlow); returns name -> (exit status, output,
    whether the run created its train_log_dir)."""
    root = tmp_path_factory.mktemp("bad_flags")
    processes = {}
    for name, (flags, _) in BAD_FLAGS.items():
        command = _command(root / name, mnist_dir, "--max_number_of_steps=2", "--batch_size=8",
                           *flags)
        processes[name] = subprocess.Popen(command, cwd=root, env=_env(mnist_data_dir),
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
    runs = {}
    for name, process in processes.items():
        output, _ = process.communicate(timeout=420)
        runs[name] = (process.returncode, output, (root / name).exists())
    return runs


@pytest.mark.parametrize("name", list(BAD_FLAGS))
def test_bad_flags_fail_before_training_with_a_clear_message(name, bad_flag_runs):
    returncode, output, created_log_dir = bad_flag_runs[name]
    assert returncode != 0, output[-3000:]
    for message in BAD_FLAGS[name][1]:
        assert message in output, output[-3000:]
    assert not created_log_dir and "Epoch 1/" not in output, "work started before the error"


@pytest.mark.all_backends
def test_three_steps_on_this_backend(mnist_dir, mnist_data_dir, tmp_path):
    """train.py on the run's KERAS_BACKEND: samples, a checkpoint that loads, and a
    SavedModel (written by TensorFlow's Keras on JAX and PyTorch)."""
    if keras.backend.backend() == "tensorflow":
        pytest.skip("the tests above run train.py on TensorFlow in full")
    log_dir = tmp_path / "mnist"
    result = subprocess.run(
        _command(log_dir, mnist_dir, *COMMON_FLAGS, "--max_number_of_steps=3"),
        cwd=tmp_path, env=_env(mnist_data_dir), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert re.search(r"Trained 3 steps \(now at step 3\)", result.stdout), result.stdout[-3000:]
    assert {"checkpoint.keras", "samples.png", "generator"} <= set(os.listdir(log_dir))
    assert keras.models.load_model(log_dir / "checkpoint.keras").global_step == 3
    check = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import sys
            import numpy as np
            import tensorflow as tf
            serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
            images = serve(noise=tf.random.normal([4, 64]))["images"].numpy()
            assert images.shape == (4, 28, 28, 1) and np.isfinite(images).all()
            """), str(log_dir / "generator")],
        env={**_env(mnist_data_dir), "KERAS_BACKEND": "tensorflow"}, capture_output=True,
        text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-3000:]


@pytest.mark.all_backends
def test_strategy_of_another_backend_is_refused(mnist_dir, mnist_data_dir, tmp_path):
    other = {"tensorflow": "data_parallel", "jax": "mirrored", "torch": "data_parallel"}
    result = subprocess.run(
        _command(tmp_path / "mnist", mnist_dir, *COMMON_FLAGS,
                 f"--strategy={other[keras.backend.backend()]}"),
        cwd=tmp_path, env=_env(mnist_data_dir), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "is not available on the" in result.stderr + result.stdout
    assert not (tmp_path / "mnist" / "checkpoint.keras").exists()
