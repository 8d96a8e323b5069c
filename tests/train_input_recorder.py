"""Runs train.py, printing what each train step trains on.

    python tests/train_input_recorder.py train.py --train_log_dir=... [flags]

Each step prints `TRAIN_STEP_INPUTS <sum of the real batch> <noise seed state>`.
test_train_script compares these between a resumed run and an uninterrupted one:
their weights cannot be compared bit for bit, since TensorFlow's CPU kernels round
differently from process to process.
"""

import os
import runpy
import sys

# What train.py sets before TensorFlow is imported, set here since this imports it first.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TFGAN_LOSSES_FILTER_NATIVE_LOGS", "1")

from tfgan_losses.training import gan_model  # noqa: E402  (imports TensorFlow)
import tensorflow as tf  # noqa: E402

_train_step = gan_model.GANModel.train_step


def recording_train_step(self, data):
    tf.print("TRAIN_STEP_INPUTS", tf.reduce_sum(tf.cast(data, tf.float64)),
             self.seed_generator.state, output_stream=sys.stdout, summarize=-1)
    return _train_step(self, data)


if __name__ == "__main__":
    gan_model.GANModel.train_step = recording_train_step
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # As `python train.py` sets.
    runpy.run_path(sys.argv[0], run_name="__main__")
