"""Exporting a generator as a TensorFlow SavedModel with a serving signature.

The SavedModel needs no project code to run:

    loaded = tf.saved_model.load(export_dir)
    images = loaded.signatures["serving_default"](noise=noise)["images"]

The generator runs in inference mode (batch-norm moving statistics) and the
images come out as float32 whatever the training precision.

A SavedModel is TensorFlow's format, so TensorFlow's Keras writes it on every
backend: after training on JAX or PyTorch the generator goes, as a `.keras`
file, to a TensorFlow-backend process (`python -m
tfgan_losses.training.export`), which writes the same SavedModel as a
TensorFlow run would.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import keras

import tfgan_losses


def _input_signature(generator, input_names):
    """One `tf.TensorSpec` per generator input, batch axis left open."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    inputs = generator.inputs
    if input_names is None:
        input_names = ["noise"] if len(inputs) == 1 else [tensor.name for tensor in inputs]
    if len(input_names) != len(inputs):
        raise ValueError(f"`input_names` has {len(input_names)} names for "
                         f"{len(inputs)} generator inputs.")
    return [tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.float32, name=name)
            for x, name in zip(inputs, input_names)]


def check_export_dir(export_dir):
    """Raises `ValueError` unless `export_dir` is free for an export: absent, an empty
    folder, or a former SavedModel (which an export replaces, deleting it)."""
    if not os.path.exists(export_dir):
        return
    free = os.path.isdir(export_dir) and (
        not os.listdir(export_dir) or os.path.isfile(os.path.join(export_dir, "saved_model.pb")))
    if not free:
        raise ValueError(
            f"export_dir {export_dir!r} exists and is not a SavedModel: an export replaces "
            "its target, so it must be a former export, an empty folder or a new path.")


def export_generator(generator, export_dir, input_names=None):
    """Writes `generator` to `export_dir` as a SavedModel, atomically.

    The model is written to a temporary folder beside `export_dir` and moved
    into place only when complete, so an interrupted export never leaves a
    half-written model at the target; an existing export is replaced, and any
    other existing folder or file is refused.

    Args:
      generator: Keras model with known input shapes.
      export_dir: Target folder.
      input_names: Names of the serving signature's inputs, one per generator
        input; default `noise` for a single input, else the generator's
        `keras.Input` names (e.g. `noise` and `one_hot_labels`).

    Returns:
      `export_dir`.

    Raises:
      ValueError: If `export_dir` exists and is neither a SavedModel nor an
        empty folder, or `input_names` does not name every input.

    Example:
      >>> export_generator(gan.generator, "out/generator")
      >>> tf.saved_model.load("out/generator").signatures["serving_default"](
      ...     noise=tf.random.normal([4, 64]))["images"].shape
      TensorShape([4, 28, 28, 1])
    """
    check_export_dir(export_dir)
    if keras.backend.backend() != "tensorflow":
        return _export_in_tensorflow_process(generator, export_dir, input_names)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    signature = _input_signature(generator, input_names)

    def serve(*inputs):
        model_inputs = inputs[0] if len(inputs) == 1 else list(inputs)
        images = generator(model_inputs, training=False)
        return {"images": tf.cast(images, tf.float32)}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", serve, input_signature=signature)

    export_dir = os.path.abspath(export_dir)
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(os.path.join(staging, "model"), verbose=False)
        if os.path.exists(export_dir):
            retired = staging + "-previous"
            os.replace(export_dir, retired)
            os.replace(os.path.join(staging, "model"), export_dir)
            shutil.rmtree(retired)
        else:
            os.replace(os.path.join(staging, "model"), export_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return export_dir


def _export_in_tensorflow_process(generator, export_dir, input_names):
    """`export_generator` run by a TensorFlow-backend Python on a `.keras` copy of
    `generator` (its layers must be Keras's, tfgan_losses's or registered)."""
    with tempfile.TemporaryDirectory() as folder:
        keras_file = os.path.join(folder, "generator.keras")
        generator.save(keras_file)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(tfgan_losses.__file__)))
        env = {**os.environ, "KERAS_BACKEND": "tensorflow",
               "PYTHONPATH": os.pathsep.join(
                   filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "tfgan_losses.training.export", keras_file,
                   os.path.abspath(export_dir), *(input_names or [])]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(
            f"Exporting the generator in a TensorFlow process failed (exit code "
            f"{result.returncode}):\n{result.stderr[-4000:]}")
    return os.path.abspath(export_dir)


def main(argv):
    """`python -m tfgan_losses.training.export GENERATOR.keras EXPORT_DIR [INPUT_NAME ...]`."""
    if len(argv) < 2:
        raise SystemExit(main.__doc__)
    keras_file, export_dir, *input_names = argv
    export_generator(keras.models.load_model(keras_file, compile=False), export_dir,
                     input_names or None)


if __name__ == "__main__":
    main(sys.argv[1:])
