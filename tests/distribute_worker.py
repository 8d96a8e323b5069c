"""Subprocess half of `tests/test_distribute.py`: runs one scenario, prints JSON.

TensorFlow fixes its device list when it first initialises devices, so checks
that need two logical CPU devices, or a `MultiWorkerMirroredStrategy` cluster
from `$TF_CONFIG`, run in a fresh process:

    python tests/distribute_worker.py mirrored       # all MirroredStrategy comparisons
    python tests/distribute_worker.py multi_worker   # one worker; reads $TF_CONFIG

The last line of stdout is one JSON object; the tests assert on it. Runs use
tiny Dense networks on synthetic 8x8 images (and two, TF-GAN's tiny MNIST
networks on 28x28 images), so tracing dominates and a run takes seconds. `test_distribute.py` imports the helpers below to build the
single-device references in its own process.
"""

import json
import os
import sys

# The examples' networks (models/) live at the repository root, which a script in
# tests/ does not have on its path.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NOISE_DIMS = 4
IMAGE_SHAPE = (8, 8, 1)
PER_REPLICA = 4   # Examples per replica per discriminator update.
STEPS = 2         # Train steps per mirrored `fit`.
MULTI_WORKER_STEPS = 3
MULTI_WORKER_EMA_DECAY = 0.5  # The generator's moving average is kept in sync too.

LOSSES = {
    "plain": dict(generator_loss="modified_generator_loss",
                  discriminator_loss="modified_discriminator_loss"),
    "clip": dict(generator_loss="wasserstein_generator_loss",
                 discriminator_loss="wasserstein_discriminator_loss"),
    "gradient_penalty": dict(generator_loss="wasserstein_generator_loss",
                             discriminator_loss="wasserstein_discriminator_loss",
                             gradient_penalty_weight=10.0),
}
CLIP_VALUE = 0.05

# Mirrored-vs-single-device runs: name -> (loss, discriminator_steps, optimizer).
# SGD is linear in the gradients, so the replicas' summed gradients give the
# single-device weights up to float32 round-off. Adam divides by sqrt(v) + 1e-7
# and so magnifies the round-off of gradients near zero (to ~2e-6 here), hence
# only one Adam run, compared with a looser tolerance.
MIRRORED_RUNS = {
    "plain-1": ("plain", 1, "sgd"),
    "clip-2": ("clip", 2, "sgd"),
    "gradient_penalty-2": ("gradient_penalty", 2, "sgd"),
    "gradient_penalty-2-adam": ("gradient_penalty", 2, "adam"),
}


def configure_logical_cpus(count):
    """Splits the physical CPU into `count` logical devices (before TF uses devices)."""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def networks():
    """A tiny Dense generator (noise -> 8x8 image) and discriminator (image -> logit)."""
    import keras
    noise = keras.Input((NOISE_DIMS,))
    net = keras.layers.Dense(8, activation="relu")(noise)
    net = keras.layers.Dense(8 * 8, activation="tanh")(net)
    generator = keras.Model(noise, keras.layers.Reshape(IMAGE_SHAPE)(net), name="generator")
    images = keras.Input(IMAGE_SHAPE)
    net = keras.layers.Flatten()(images)
    net = keras.layers.Dense(8)(net)
    net = keras.layers.LeakyReLU(negative_slope=0.2)(net)
    discriminator = keras.Model(images, keras.layers.Dense(1)(net), name="discriminator")
    return generator, discriminator


def images(count, seed=0, shape=IMAGE_SHAPE):
    """`count` synthetic images in [-1, 1], float32 [count, *shape] (default 8x8x1)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (count,) + tuple(shape)).astype(np.float32)


def optimizers(kind):
    """compile() kwargs for the two optimizers: SGD, or None for GANModel's Adam defaults."""
    import keras
    if kind == "sgd":
        return dict(generator_optimizer=keras.optimizers.SGD(0.05),
                    discriminator_optimizer=keras.optimizers.SGD(0.05))
    return {}


def flat_weights(model):
    import numpy as np
    return np.concatenate([w.numpy().ravel() for w in model.weights]).astype(np.float64)


def build_gan(gan_class=None, discriminator_steps=1, compile_kwargs=None, **kwargs):
    """A GAN of `networks()` initialised from seed 0, noise seed 0, compiled.

    Call inside the strategy's scope.
    """
    import keras
    from tfgan_losses.training.gan_model import GANModel
    keras.utils.set_random_seed(0)
    gan = (gan_class or GANModel)(*networks(), discriminator_steps=discriminator_steps, seed=0,
                                  **kwargs)
    gan.compile(**(compile_kwargs or {}))
    return gan


class NoiseLog:
    """Generator inputs drawn inside train steps, per replica id, in call order."""

    def __init__(self):
        self.draws = {}

    def record(self, replica_id, noise):
        self.draws.setdefault(str(int(replica_id)), []).append(noise.numpy().tolist())


def recording_gan_class():
    """A GANModel that records every `sample_generator_inputs` draw with its replica id."""
    import tensorflow as tf
    from tfgan_losses.training.gan_model import GANModel

    class RecordingGAN(GANModel):

        def __init__(self, *args, noise_log=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.noise_log = noise_log

        def sample_generator_inputs(self, batch_size, labels=None):
            noise = super().sample_generator_inputs(batch_size, labels)
            context = tf.distribute.get_replica_context()
            replica_id = context.replica_id_in_sync_group if context is not None else 0
            tf.py_function(self.noise_log.record, [replica_id, noise], [])
            return noise

    return RecordingGAN


def mnist_tiny_networks():
    """TF-GAN's tiny MNIST networks: (synchronized) batch norm, spectral norm, weight decay."""
    from models import mnist as mnist_networks
    generator = mnist_networks.unconditional_generator(NOISE_DIMS, **mnist_networks.TINY_SIZES)
    discriminator = mnist_networks.unconditional_discriminator(**mnist_networks.TINY_SIZES)
    return generator, discriminator


def _mirrored_run(strategy, loss, discriminator_steps, optimizer, data, global_batch,
                  mnist_networks=False):
    import keras
    import tensorflow as tf
    from tfgan_losses.training.callbacks import ClipWeights

    noise_log = NoiseLog()
    with strategy.scope():
        if not mnist_networks:
            gan = build_gan(recording_gan_class(), discriminator_steps,
                            dict(LOSSES[loss], **optimizers(optimizer)), noise_log=noise_log)
        else:
            keras.utils.set_random_seed(0)
            gan = recording_gan_class()(*mnist_tiny_networks(), seed=0, noise_log=noise_log,
                                        generator_ema_decay=0.999)
            gan.compile(**LOSSES[loss], **optimizers(optimizer))
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(global_batch, drop_remainder=True)
    callbacks = [ClipWeights(CLIP_VALUE)] if loss == "clip" else []
    history = gan.fit(dataset, epochs=1, verbose=0, callbacks=callbacks)
    evaluation = gan.evaluate(dataset, verbose=0, return_dict=True) if mnist_networks else {}
    return {
        "evaluation": {key: float(value) for key, value in evaluation.items()},
        "replicas": strategy.num_replicas_in_sync,
        "weights": [w.numpy().tolist() for w in gan.weights],  # Incl. batch-norm statistics.
        "weight_paths": [w.path for w in gan.weights],
        "logs": {key: [float(v) for v in values] for key, values in history.history.items()},
        "noise": noise_log.draws,
        "iterations": [int(gan.discriminator_optimizer.iterations.numpy()),
                       int(gan.generator_optimizer.iterations.numpy())],
    }


def _squared_real_outputs(real_outputs, generated_outputs):
    """A discriminator loss whose float16 gradient overflows on large real outputs."""
    from keras import ops
    return ops.mean(ops.cast(real_outputs, "float32") ** 2) + 0.0 * ops.mean(
        ops.cast(generated_outputs, "float32"))


def _overflow_on_one_replica_run(strategy):
    """mixed_float16, one step whose discriminator gradient overflows float16 on the
    second half of the batch only: replica 1's half under MirroredStrategy."""
    import keras
    import numpy as np
    import tensorflow as tf
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            gan = build_gan(compile_kwargs=dict(discriminator_loss=_squared_real_outputs,
                                                **optimizers("sgd")))
        data = images(2 * PER_REPLICA)
        data[PER_REPLICA:] *= 300.0
        gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(2 * PER_REPLICA), verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return {
        "loss_scale": float(gan.discriminator_optimizer.dynamic_scale.numpy()),
        "weights_finite": bool(all(np.all(np.isfinite(w)) for w in gan.get_weights())),
        "discriminator_updates": int(gan.discriminator_optimizer.iterations.numpy()),
    }


KERAS_LOSSES = ("WassersteinGeneratorLoss", "LeastSquaresDiscriminatorLoss")


def _keras_loss_in_compile_run(strategy, loss_name):
    """One SGD step of a Dense(1) model compiled with a tfgan_losses Keras loss; `y` plays
    the discriminator's outputs on real data."""
    import keras
    import numpy as np
    import tensorflow as tf
    import tfgan_losses
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2 * PER_REPLICA, 3)).astype(np.float32)
    y = rng.normal(size=(2 * PER_REPLICA, 1)).astype(np.float32)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(1.0),
                      loss=getattr(tfgan_losses, loss_name)())
    initial_weights = [w.numpy().tolist() for w in model.weights]
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(2 * PER_REPLICA),
                        verbose=0)
    return {"initial_weights": initial_weights,
            "weights": [w.numpy().tolist() for w in model.weights],
            "loss": history.history["loss"][0]}


def run_mirrored():
    """Each MIRRORED_RUNS entry and the MNIST run on the default (single-device) strategy
    and on MirroredStrategy over two logical CPUs."""
    configure_logical_cpus(2)
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    strategies = {"single": tf.distribute.get_strategy(),
                  "mirrored": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])}

    def on_both(run, *args, **kwargs):
        return {name: run(strategy, *args, **kwargs) for name, strategy in strategies.items()}

    results = {"devices": [d.name for d in tf.config.list_logical_devices("CPU")],
               "runs": {}}
    for name, (loss, discriminator_steps, optimizer) in MIRRORED_RUNS.items():
        global_batch = 2 * PER_REPLICA * discriminator_steps
        results["runs"][name] = on_both(_mirrored_run, loss, discriminator_steps, optimizer,
                                        images(STEPS * global_batch), global_batch)
    results["runs"]["mnist_tiny"] = on_both(
        _mirrored_run, "gradient_penalty", 1, "sgd", images(2 * PER_REPLICA, shape=(28, 28, 1)),
        2 * PER_REPLICA, mnist_networks=True)
    results["keras_losses_in_compile"] = {
        loss_name: on_both(_keras_loss_in_compile_run, loss_name) for loss_name in KERAS_LOSSES}
    results["overflow_on_one_replica"] = on_both(_overflow_on_one_replica_run)
    return results


def multi_worker_dataset(global_batch):
    """The same synthetic global batches on every worker, auto-sharded by DATA."""
    import tensorflow as tf
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (tf.data.Dataset.from_tensor_slices(images(MULTI_WORKER_STEPS * global_batch))
            .batch(global_batch, drop_remainder=True).with_options(options))


def _multi_worker_fit(strategy, gan_class):
    import hashlib
    global_batch = PER_REPLICA * strategy.num_replicas_in_sync
    with strategy.scope():
        gan = build_gan(gan_class, compile_kwargs=LOSSES["gradient_penalty"],
                        generator_ema_decay=MULTI_WORKER_EMA_DECAY)
    try:
        history = gan.fit(multi_worker_dataset(global_batch), epochs=1, verbose=0)
    except Exception as error:  # pylint: disable=broad-except
        return {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    weights = flat_weights(gan)
    return {
        "error": None,
        "iterations": int(gan.generator_optimizer.iterations.numpy()),
        "sha256": hashlib.sha256(weights.tobytes()).hexdigest(),
        "weights": weights.tolist(),
        "logs": {key: [float(v) for v in values] for key, values in history.history.items()},
    }


def run_multi_worker():
    """One worker of a cluster ($TF_CONFIG): trains GANModel."""
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return {
        "task": json.loads(os.environ["TF_CONFIG"])["task"],
        "replicas": strategy.num_replicas_in_sync,
        "gan_model": _multi_worker_fit(strategy, None),
    }


SCENARIOS = {"mirrored": run_mirrored, "multi_worker": run_multi_worker}

if __name__ == "__main__":
    output = SCENARIOS[sys.argv[1]]()
    sys.stdout.flush()
    print("\n" + json.dumps(output))
