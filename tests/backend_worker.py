"""Runs one GAN training job on the Keras backend named by KERAS_BACKEND, for tests that
compare backends (each backend needs its own process).

    python tests/backend_worker.py step CONFIG_JSON INITIAL.npz OUT.npz
    python tests/backend_worker.py train_and_save CONFIG_JSON OUT.keras OUT.npz
    python tests/backend_worker.py resume OUT.keras OUT.npz
    python tests/backend_worker.py data_parallel CONFIG_JSON OUT.npz   (JAX, 2 devices)

`step` sets the networks' weights from INITIAL.npz and feeds the noise and the
gradient penalty's interpolation weights from it too (backends draw different
random numbers from the same seed), runs one train step eagerly and writes
every variable of the model and its optimizers to OUT.npz. CONFIG_JSON holds
`GANModel` and `compile` arguments.
"""

import json
import os
import sys

import keras  # Before TensorFlow (on PyTorch, torch._dynamo must be imported first).
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfgan_losses  # noqa: E402
from tfgan_losses.features import SpectralNormalization  # noqa: E402
from tfgan_losses.losses import gradient_penalty  # noqa: E402

NOISE_DIMS = 4
DATA_DIMS = 6


def networks():
    """A generator with batch norm and weight decay; a critic with spectral norm, an
    activity regularizer (a loss added in each call) and weight decay."""
    noise = keras.Input((NOISE_DIMS,))
    # No bias before batch norm: its gradient is 0 up to round-off, which Adam's first
    # step would scale up to the learning rate differently on each backend.
    net = keras.layers.Dense(16, use_bias=False,
                             kernel_regularizer=keras.regularizers.L2(1e-3))(noise)
    net = keras.layers.BatchNormalization(momentum=0.9)(net)
    net = keras.layers.ReLU()(net)
    generator = keras.Model(noise, keras.layers.Dense(DATA_DIMS)(net), name="generator")
    data = keras.Input((DATA_DIMS,))
    net = SpectralNormalization(keras.layers.Dense(
        16, kernel_regularizer=keras.regularizers.L2(1e-3)))(data)
    net = keras.layers.LeakyReLU(negative_slope=0.2)(net)
    net = keras.layers.ActivityRegularization(l2=1e-3)(net)
    discriminator = keras.Model(data, keras.layers.Dense(1)(net), name="discriminator")
    return generator, discriminator


def build(config, initial=None):
    """The GAN of `networks()` for `config`; weights from the arrays `initial` (g0.., d0..)
    if given, set before the model copies them into its generator average."""
    config = dict(config)
    compile_args = config.pop("compile", {})
    config.pop("clip", None)  # A `ClipWeights` callback's, not the model's.
    generator, discriminator = networks()
    if initial is not None:
        for prefix, network in (("g", generator), ("d", discriminator)):
            network.set_weights([initial[f"{prefix}{i}"] for i in range(len(network.weights))])
    gan = tfgan_losses.GANModel(generator, discriminator, **config)
    gan.compile(**compile_args)
    return gan


def state(gan, with_seeds=False):
    """Every variable of the model and of both optimizers, by position; without the
    noise generators' states unless `with_seeds` (each backend draws its own noise)."""
    seeds = {id(gan.seed_generator.state), id(gan.evaluation_seed_generator.state)}
    variables = [variable for variable in list(gan.variables) + list(gan.optimizer.variables)
                 if with_seeds or id(variable) not in seeds]
    return {f"v{index:03d}": keras.ops.convert_to_numpy(variable)
            for index, variable in enumerate(variables)}


def fed_draws(arrays):
    """Serves the arrays in order, whatever shape was asked for."""
    queue = list(arrays)

    def draw(*args, **kwargs):
        del args, kwargs
        return keras.ops.convert_to_tensor(queue.pop(0))

    return draw


def step(config, initial_path, out_path):
    initial = np.load(initial_path)
    gan = build({**config, "compile": {**config.get("compile", {}), "run_eagerly": True}},
                initial)
    updates = config.get("discriminator_steps", 1) + config.get("generator_steps", 1)
    draw_noise = fed_draws(initial[f"noise{i}"] for i in range(updates))
    gan.sample_generator_inputs = lambda batch_size, labels=None: draw_noise()
    gradient_penalty._uniform = fed_draws(
        initial[f"alpha{i}"] for i in range(config.get("discriminator_steps", 1)))
    callbacks = [tfgan_losses.ClipWeights(config["clip"])] if "clip" in config else []
    history = gan.fit(initial["data"], batch_size=len(initial["data"]), epochs=1, verbose=0,
                      shuffle=False, callbacks=callbacks)
    logs = {f"log_{key}": np.asarray(values[-1]) for key, values in history.history.items()}
    np.savez(out_path, **state(gan), **logs)


def train_and_save(config, keras_path, out_path):
    keras.utils.set_random_seed(0)
    gan = build(config)
    data = np.random.default_rng(0).normal(size=(32, DATA_DIMS)).astype("float32")
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    gan.save(keras_path)
    np.savez(out_path, **state(gan, with_seeds=True))


def resume(keras_path, out_path):
    gan = keras.models.load_model(keras_path)
    loaded = state(gan, with_seeds=True)
    data = np.random.default_rng(1).normal(size=(32, DATA_DIMS)).astype("float32")
    history = gan.fit(data, batch_size=16, epochs=1, verbose=0)
    logs = {f"log_{key}": np.asarray(values[-1]) for key, values in history.history.items()}
    np.savez(out_path, **{f"loaded_{k}": v for k, v in loaded.items()}, **logs,
             global_step=np.asarray(gan.global_step))


def data_parallel(config, out_path):
    """The same two steps on one device and with `DataParallel` over every device."""
    import jax  # pylint: disable=import-outside-toplevel

    data = np.random.default_rng(0).normal(size=(32, DATA_DIMS)).astype("float32")
    results = {}
    for name, distribution in (("single", None),
                               ("parallel", keras.distribution.DataParallel(devices=jax.devices()))):
        keras.utils.set_random_seed(0)
        if distribution is not None:
            keras.distribution.set_distribution(distribution)
        gan = build(config)
        gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
        results.update({f"{name}_{k}": v for k, v in state(gan, with_seeds=True).items()})
        keras.distribution.set_distribution(None)
    np.savez(out_path, devices=np.asarray(len(jax.devices())), **results)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "resume":
        resume(*args)
    else:
        globals()[mode](json.loads(args[0]), *args[1:])
