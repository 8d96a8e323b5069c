"""A Keras `Model` that trains a generator and a discriminator through `model.fit`.

It does what TF-GAN's `gan_model` + `gan_loss` + `gan_train` did with
`GANTrainSteps`: per call of `train_step`, `discriminator_steps` discriminator
updates (each on its own slice of the batch, so each sees fresh real examples)
followed by `generator_steps` generator updates, with separate discriminator
passes on real and generated data.

    gan = GANModel(generator, discriminator)
    gan.compile(generator_loss="modified_generator_loss",
                discriminator_loss="modified_discriminator_loss")
    gan.fit(images_dataset, epochs=..., validation_data=held_out_images)

`evaluate` and `validation_data` run `test_step`: the same losses on held-out
data, in inference mode, changing no training state.

Feed batches of `discriminator_steps * batch_size` examples; every
discriminator update takes its own `batch_size` of them (update i takes every
`discriminator_steps`-th example from the i-th). The model runs
eagerly (`run_eagerly=True`), compiled (default) and with XLA
(`jit_compile=True`) on TensorFlow, JAX and PyTorch: the step below is
written once, and `tfgan_losses.gradients` takes its gradients and applies its
updates the way each backend does (on JAX as the pure, jitted
`train_step(state, data)` of Keras's trainer, both optimizers' state and the
step count travelling in `model.optimizer.variables`).

Scaling out:

* JAX: `keras.distribution.DataParallel` (set it before building the
  networks); the step computes on the global batch, so it equals the
  single-device step.
* TensorFlow: `tf.distribute` (build and compile under `strategy.scope()`): per-replica
  losses are divided by the replica count (gradients are summed across
  replicas), logs are averaged across replicas, and each replica draws its
  own slice of one global noise batch (`tfgan_losses.distribute`), so a step
  equals a single-device step on the same global batch.
* Mixed precision (`keras.mixed_precision.set_global_policy`): under
  `mixed_float16` both optimizers are wrapped in `LossScaleOptimizer` (Keras
  wraps only `compile(optimizer=...)` by itself), and the gradient penalty's
  inner gradient is scaled by the discriminator's loss scale and unscaled.
  Losses are computed in float32.
"""

import contextlib
import types

import keras
from keras import ops

from tfgan_losses.distribute import replica_slice_draw, scale_loss_for_replicas, strategy_scope
from tfgan_losses.gradients import apply_gradients, run_step, value_and_gradients
from tfgan_losses.gradients.scope import RecordingScope
from tfgan_losses.losses import keras_losses
from tfgan_losses.losses.gradient_penalty import wasserstein_gradient_penalty
from tfgan_losses.training.batch_norm import batch_norm_layers

_GENERATOR_LEARNING_RATE = 1e-3      # TF-GAN's MNIST example.
_DISCRIMINATOR_LEARNING_RATE = 1e-4
_ADAM_BETA_1 = 0.5
_SEED_STATE_KEY = "seed_generator_state"
_TRAIN_STEPS_KEY = "train_steps"


def resolve_loss(identifier):
    """Returns the loss object for a Loss, TF-GAN name, loss function or callable.

    Known identifiers become `GANLoss` instances (see `tfgan_losses.get`); any
    other callable is used as `fn(real_outputs, generated_outputs)`.
    """
    try:
        return keras_losses.get(identifier)
    except ValueError:
        if callable(identifier):
            return identifier
        raise


def _replica_loss(loss, real_outputs, generated_outputs):
    """`loss` on this replica's batch: `_scale_loss` divides the sum of all terms by the
    replica count, so a `GANLoss` must not divide its own term too."""
    if isinstance(loss, keras_losses.GANLoss):
        return loss.per_replica(real_outputs, generated_outputs)
    return loss(real_outputs, generated_outputs)


def _loss_scale(optimizer):
    """The dynamic loss scale of a `LossScaleOptimizer`, else None."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.dynamic_scale
    return None


def _scale_loss(optimizer, loss):
    """The loss to differentiate: divided by the replica count, times the loss scale."""
    loss = scale_loss_for_replicas(loss)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        loss = optimizer.scale_loss(loss)
    return loss


def _call_in_stateless_scope(call, discard=()):
    """Runs `call()`, a call of a network; returns its outputs and the losses it added
    (which an enclosing loss-collecting scope collects too).

    Keras keeps `add_loss` losses (activity regularizers, the spectrally
    normalized kernels' weight decay) on the layers until their next call, a
    list that the replica threads of a `tf.distribute` strategy share; a
    stateless scope collects one call's losses in this thread. The variable
    updates it holds back (batch-norm statistics, spectral-norm vectors) are
    applied when the call returns, except to the variables in `discard`.
    """
    with _losses_collected(discard) as losses:
        outputs = call()
    return outputs, losses


@contextlib.contextmanager
def _losses_collected(discard=()):
    """Collects the losses that layers add inside into the list it yields (and in an
    enclosing collecting scope); assigns the variable updates made inside when it
    exits, except to the variables in `discard`."""
    with RecordingScope(collect_losses=True) as scope:
        yield scope.losses
    discarded = {id(variable) for variable in discard}
    for variable, value in scope.updates():
        if id(variable) not in discarded:
            variable.assign(value)


def _weight_regularization(model):
    """The regularization losses of `model`'s trainable weights, as `model.losses` lists them."""
    return [variable.regularizer(variable) for variable in model.trainable_weights
            if variable.regularizer is not None]


def _not_built_error(name):
    return ValueError(
        f"The {name} is not built, and building the networks by calling them once on a "
        "batch of sampled generator inputs failed, so its optimizer cannot be given its "
        "weights: build it before `compile` (define it with keras.Input, or call it once "
        "on a batch).")


def _in_multi_worker_mode(strategy):
    """Whether `strategy` spans several workers (a MultiWorkerMirroredStrategy cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return False
    tasks = resolver.cluster_spec().as_dict()
    return sum(len(addresses) for addresses in tasks.values()) > 1


def _deserialize_optimizer(config):
    """The optimizer of a serialized `config`, as the running backend implements it.

    A file written on PyTorch names Keras's PyTorch classes (its Adam is its own
    class); `keras.optimizers.deserialize` maps them to this backend's, also for
    the optimizer that a `LossScaleOptimizer` wraps.
    """
    if isinstance(config, dict) and config.get("class_name") == "LossScaleOptimizer":
        arguments = dict(config["config"])
        inner = _deserialize_optimizer(arguments.pop("inner_optimizer"))
        return keras.optimizers.LossScaleOptimizer(inner, **arguments)
    return keras.optimizers.deserialize(config)


class _GANOptimizers:
    """The two optimizers and the step count, as Keras's trainers see `model.optimizer`.

    Keras's JAX trainer carries `model.optimizer.variables` in and out of its
    pure train step, and writes them back after `fit`; here they are both
    optimizers' variables and the count of completed train steps, which is also
    `iterations` (the step that `keras.callbacks.TensorBoard` logs at). Each
    optimizer is saved with the model under its own name.
    """

    built = True

    def __init__(self, generator_optimizer, discriminator_optimizer, train_steps):
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.iterations = train_steps

    @property
    def variables(self):
        return ([self.iterations] + list(self.generator_optimizer.variables)
                + list(self.discriminator_optimizer.variables))

    def __getattr__(self, name):
        raise AttributeError(
            f"A GANModel has two optimizers, so `model.optimizer.{name}` is ambiguous: use "
            f"`model.generator_optimizer.{name}` or `model.discriminator_optimizer.{name}`.")


def _adversarial_logits(outputs):
    """The real/fake logits among a discriminator's outputs (element 0 of a tuple)."""
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


@keras.saving.register_keras_serializable(package="tfgan_losses")
class GANModel(keras.Model):
    """Generator and discriminator trained adversarially with `fit`.

    Calling the model runs the generator: `gan(noise)` returns images.

    Args:
      generator: Keras model mapping noise `[batch, *noise_shape]` to data.
      discriminator: Keras model mapping data to logits (or a tuple whose
        element 0 is the logits).
      discriminator_steps: Discriminator updates per train step, >= 1
        (WGAN used 5). Each takes its own slice of the batch.
      generator_steps: Generator updates per train step, >= 1.
      noise_shape: Shape of one noise vector; defaults to the generator's
        input shape without the batch axis.
      seed: Seed of the model's `keras.random.SeedGenerator`, which draws
        the noise and the gradient penalty's interpolation weights.
      generator_ema_decay: If set (in (0, 1), e.g. 0.999), the model keeps an
        exponential moving average of the generator's trainable weights,
        updated after every generator update with the decay
        `min(generator_ema_decay, (1 + t) / (10 + t))` at update t (the warm-up
        of `tf.train.ExponentialMovingAverage`), and saved with the model.
        `with gan.generator_average():` swaps it in for sampling and export.
        Averaging the generator's iterates (Yazici et al. 2019,
        https://arxiv.org/abs/1806.04498) gives better samples than the last
        iterate; ProGAN, BigGAN and StyleGAN export it.
      **kwargs: Passed to `keras.Model` (e.g. `name`).

    Raises:
      ValueError: For steps < 1, a `generator_ema_decay` outside (0, 1) or a
        generator without a known input shape.

    Example:
      >>> gan = GANModel(generator, discriminator, discriminator_steps=5)
      >>> gan.compile(gradient_penalty_weight=10.0)  # WGAN-GP
      >>> gan.fit(dataset.batch(5 * 64), epochs=10)
    """

    def __init__(self, generator, discriminator, discriminator_steps=1, generator_steps=1,
                 noise_shape=None, seed=None, generator_ema_decay=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("discriminator_steps", discriminator_steps),
                            ("generator_steps", generator_steps)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
        if generator_ema_decay is not None and not 0 < generator_ema_decay < 1:
            raise ValueError("`generator_ema_decay` must be in (0, 1) or None; got "
                             f"{generator_ema_decay!r}.")
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_steps = discriminator_steps
        self.generator_steps = generator_steps
        self.noise_shape = tuple(noise_shape) if noise_shape else self._generator_noise_shape()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Completed train steps (a loss-scale optimizer does not count the updates it
        # skips). `model.optimizer.iterations` after `compile`; kept out of Keras's
        # weight tracking and saved under its own key, as the seed state is, so
        # checkpoints written before it existed still load.
        self._counters = types.SimpleNamespace(train_steps=keras.Variable(
            0, dtype="int", trainable=False, name="train_steps",
            aggregation="only_first_replica"))
        self.generator_ema_decay = generator_ema_decay
        self._generator_averages = [
            self._average_variable(variable) for variable in generator.trainable_variables
        ] if generator_ema_decay else []
        # The noise stream of `test_step`, apart from training's. Its state is one of
        # the model's non-trainable variables, which Keras's JAX trainer passes
        # through `test_step`, but is not saved: every `evaluate` restarts it.
        self.evaluation_seed_generator = keras.random.SeedGenerator(seed)
        self._initial_evaluation_seed_state = ops.convert_to_numpy(
            self.evaluation_seed_generator.state.value)
        self._discriminator_clip_value = None
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.gradient_penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.real_output_tracker = keras.metrics.Mean(name="real_output_mean")
        self.generated_output_tracker = keras.metrics.Mean(name="generated_output_mean")
        self.built = True

    def _generator_noise_shape(self):
        inputs = getattr(self.generator, "inputs", None)
        if not inputs:
            raise ValueError(
                "Cannot infer the noise shape: `generator` has no known input shape. "
                "Build it with keras.Input or pass `noise_shape`.")
        return tuple(inputs[0].shape[1:])

    def _average_variable(self, variable):
        """A non-trainable copy of `variable` that holds its moving average."""
        average = self.add_weight(
            shape=variable.shape, dtype=variable.dtype, trainable=False,
            name="generator_ema_" + variable.path.replace("/", "_"),
            aggregation="only_first_replica")
        average.assign(ops.copy(variable))  # A buffer of its own: JAX donates the state.
        return average

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------------ compile
    def compile(self, generator_optimizer=None, discriminator_optimizer=None,
                generator_loss="wasserstein_generator_loss",
                discriminator_loss="wasserstein_discriminator_loss",
                gradient_penalty_weight=None, **kwargs):
        """Configures the two optimizers and losses.

        Args:
          generator_optimizer: Optimizer (or its identifier) for the generator;
            default `keras.optimizers.Adam(1e-3, beta_1=0.5)`, as in TF-GAN's
            MNIST example.
          discriminator_optimizer: Default Adam(1e-4, beta_1=0.5).
          generator_loss: A `GANLoss`, TF-GAN name (e.g.
            `"modified_generator_loss"`), loss function, or a callable
            `fn(real_outputs, generated_outputs)`. Default Wasserstein, as in
            TF-GAN's `gan_loss`.
          discriminator_loss: Same, for the discriminator.
          gradient_penalty_weight: If set (> 0), adds this times
            `wasserstein_gradient_penalty` to the discriminator loss (WGAN-GP;
            the paper uses 10).
          **kwargs: `keras.Model.compile` arguments such as `jit_compile`,
            `run_eagerly`, `steps_per_execution`. On PyTorch, `jit_compile` is
            `torch.compile`, which cannot take the gradient penalty's second
            derivative: with a penalty, "auto" (the default) runs eagerly.

        A network without weights yet (a subclassed model never called) is
        built here by calling it once: the optimizers need the weights.

        Raises:
          ValueError: For a negative `gradient_penalty_weight`, unknown losses, a
            network that is not built and could not be built by calling it, or
            `jit_compile=True` with a penalty on PyTorch.
        """
        if gradient_penalty_weight is not None and gradient_penalty_weight < 0:
            raise ValueError(
                f"`gradient_penalty_weight` must be >= 0; got {gradient_penalty_weight}.")
        self._build_networks()
        super().compile(**kwargs)
        if (keras.backend.backend() == "torch" and gradient_penalty_weight
                and self.jit_compile):
            if kwargs.get("jit_compile", "auto") is True:
                raise ValueError(
                    "`jit_compile=True` on PyTorch cannot train with `gradient_penalty_weight`: "
                    "torch.compile has no double backward, which the penalty's gradient "
                    "needs. Use jit_compile=False (or 'auto', which chooses it).")
            self.jit_compile = False
        self.generator_optimizer = self._loss_scaled(keras.optimizers.get(
            generator_optimizer
            or keras.optimizers.Adam(_GENERATOR_LEARNING_RATE, beta_1=_ADAM_BETA_1)))
        self.discriminator_optimizer = self._loss_scaled(keras.optimizers.get(
            discriminator_optimizer
            or keras.optimizers.Adam(_DISCRIMINATOR_LEARNING_RATE, beta_1=_ADAM_BETA_1)))
        self.generator_loss = resolve_loss(generator_loss)
        self.discriminator_loss = resolve_loss(discriminator_loss)
        self.gradient_penalty_weight = gradient_penalty_weight or None
        self._compile_kwargs = kwargs
        # Create the optimizers' slots now, in the model's distribution scope:
        # under tf.distribute they cannot be created inside the train function,
        # and loading a `.keras` file restores their state into them.
        with strategy_scope(self):
            self.generator_optimizer.build(self.generator.trainable_variables)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.optimizer = _GANOptimizers(
            self.generator_optimizer, self.discriminator_optimizer, self._counters.train_steps)

    def _build_networks(self):
        """Creates the weights of a network that has none yet (a subclassed model).

        Runs one batch of 2 generator inputs (`sample_generator_inputs`)
        through the generator and the discriminator (`discriminate`) in
        inference mode, so that no batch-norm statistics or spectral-norm
        vectors move, and puts the noise generator's state back: training
        draws the same noise as with networks built beforehand. `compile`
        calls it; networks defined with `keras.Input` are built already.

        Raises:
          ValueError: If a network is still not built, or calling it failed
            (e.g. a conditional model, whose inputs need the dataset's labels);
            the cause is chained.
        """
        unbuilt = [name for name, network in (("generator", self.generator),
                                              ("discriminator", self.discriminator))
                   if not network.built]
        if not unbuilt:
            return
        seed_state = ops.copy(self.seed_generator.state.value)
        try:
            generator_inputs = self.sample_generator_inputs(2)
            generated = self.generator(generator_inputs, training=False)
            self.discriminate(generated, generator_inputs, training=False)
        except Exception as error:  # Whatever the networks raise, chained to the cause.
            raise _not_built_error(unbuilt[0]) from error
        finally:
            self.seed_generator.state.assign(seed_state)
        for name in unbuilt:
            if not getattr(self, name).built:
                raise _not_built_error(name)

    def _loss_scaled(self, optimizer):
        """Wraps `optimizer` in a `LossScaleOptimizer` under the mixed_float16 policy."""
        if (self.dtype_policy.name == "mixed_float16"
                and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def get_compile_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            "generator_optimizer": serialize(self.generator_optimizer),
            "discriminator_optimizer": serialize(self.discriminator_optimizer),
            "generator_loss": serialize(self.generator_loss),
            "discriminator_loss": serialize(self.discriminator_loss),
            "gradient_penalty_weight": self.gradient_penalty_weight,
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = _deserialize_optimizer(config[key])
        for key in ("generator_loss", "discriminator_loss"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "generator": serialize(self.generator),
            "discriminator": serialize(self.discriminator),
            "discriminator_steps": self.discriminator_steps,
            "generator_steps": self.generator_steps,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
            "generator_ema_decay": self.generator_ema_decay,
        }

    def save_own_variables(self, store):
        """Saves the noise generator's state and the step count too, so resumed training
        draws new noise and counts on."""
        super().save_own_variables(store)
        store[_SEED_STATE_KEY] = self.seed_generator.state
        store[_TRAIN_STEPS_KEY] = self._counters.train_steps

    def load_own_variables(self, store):
        keys = list(store.keys())
        if _SEED_STATE_KEY in keys:
            self.seed_generator.state.assign(store[_SEED_STATE_KEY])
        if _TRAIN_STEPS_KEY in keys:
            self._counters.train_steps.assign(store[_TRAIN_STEPS_KEY])
        own = [key for key in keys if key not in (_SEED_STATE_KEY, _TRAIN_STEPS_KEY)]
        super().load_own_variables({key: store[key] for key in own})

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # ------------------------------------------------------- weight clipping
    @property
    def discriminator_clip_value(self):
        """Clip bound c: after every discriminator update its weights go to [-c, c].

        None disables clipping. `ClipWeights` sets this for the length of a
        `fit`; setting it rebuilds the train function so the change takes effect.
        """
        return self._discriminator_clip_value

    @discriminator_clip_value.setter
    def discriminator_clip_value(self, value):
        if value is not None and not value > 0:
            raise ValueError(f"`clip_value` must be > 0 or None; got {value}.")
        if value != self._discriminator_clip_value:
            self._discriminator_clip_value = value
            self.train_function = None

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, which also undoes `ClipWeights` when training raises.

        Keras calls no `on_train_end` when `fit` raises (`TerminateOnNonFinite`,
        Ctrl-C), so the clip that `ClipWeights` installed would stay on the
        model for later `fit` calls; the clip value from before `fit` is put back.
        """
        clip_value = self._discriminator_clip_value
        try:
            return super().fit(*args, **kwargs)
        except BaseException:
            self.discriminator_clip_value = clip_value
            raise

    def _clip_discriminator_weights(self):
        c = self._discriminator_clip_value
        for variable in self.discriminator.trainable_variables:
            variable.assign(ops.clip(variable, -c, c))

    # ------------------------------------------------------------ hooks
    def sample_generator_inputs(self, batch_size, labels=None):
        """Draws the generator's inputs for one batch: standard normal noise.

        Subclasses (conditional GANs, InfoGAN) add codes or labels here.

        Args:
          batch_size: Number of examples (may be a scalar tensor).
          labels: The real batch's labels, if the dataset yields them.

        Returns:
          The generator's input(s).
        """
        del labels
        return replica_slice_draw(
            lambda n: keras.random.normal((n,) + self.noise_shape, seed=self.seed_generator),
            batch_size)

    def discriminate(self, data, generator_inputs, training=True):
        """Runs the discriminator on `data`; subclasses add conditioning from `generator_inputs`."""
        del generator_inputs
        return self.discriminator(data, training=training)

    def discriminator_auxiliary_loss(self, generator_inputs, real_outputs, generated_outputs,
                                     labels):
        """Extra discriminator loss term (ACGAN, InfoGAN); 0 here."""
        del generator_inputs, real_outputs, generated_outputs, labels
        return 0.0

    def generator_auxiliary_loss(self, generator_inputs, generated_outputs, labels):
        """Extra generator loss term (ACGAN, InfoGAN); 0 here."""
        del generator_inputs, generated_outputs, labels
        return 0.0

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        trackers = [self.discriminator_loss_tracker, self.generator_loss_tracker]
        if getattr(self, "gradient_penalty_weight", None):
            trackers.append(self.gradient_penalty_tracker)
        return trackers + [self.real_output_tracker, self.generated_output_tracker]

    def _split_batch(self, tensor):
        """Splits a batch into `discriminator_steps` equal, disjoint slices.

        Slice i holds every k-th example from the i-th (k = discriminator_steps).
        Interleaved slices compose with `tf.distribute`'s contiguous split of
        the global batch: each replica's slice i is its share of the global
        slice i, so distributed steps equal single-device steps.
        """
        if tensor is None:
            return [None] * self.discriminator_steps
        batch = tensor.shape[0]
        if batch is not None and batch % self.discriminator_steps:
            raise ValueError(
                f"The batch size {batch} is not divisible by discriminator_steps="
                f"{self.discriminator_steps}: feed batches of discriminator_steps * "
                "batch_size examples.")
        steps = self.discriminator_steps
        return [tensor[i::steps] for i in range(steps)] if steps > 1 else [tensor]

    def _unpack(self, data):
        """`(real_data, labels)` of a batch; `sample_weight` is refused."""
        real_data, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("GANModel does not weight examples: fit it on images, or "
                             "(images, labels) for conditional models, without sample_weight.")
        return real_data, labels

    def _logs(self):
        logs = {tracker.name: tracker.result() for tracker in self.metrics}
        if _in_multi_worker_mode(getattr(self, "distribute_strategy", None)):
            # Keras 3 reduces logs across workers along axis 0, which scalars lack
            # (tensorflow/tensorflow#72388).
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def train_step(self, *args):
        """One training step: Keras's trainer calls it with `(data)`, or `(state, data)` on JAX."""
        return run_step(self._train_step, self._state_variables(optimizer=True), *args)

    def test_step(self, *args):
        """See `_test_step`; called as `train_step` is."""
        return run_step(self._test_step, self._state_variables(optimizer=False), *args)

    def _state_variables(self, optimizer):
        """The variable groups of Keras's JAX trainer's state, in its order."""
        groups = [self.trainable_variables, self.non_trainable_variables]
        if optimizer:
            groups.append(self.optimizer.variables)
        return groups + [self.metrics_variables]

    def _train_step(self, data):
        real_data, labels = self._unpack(data)
        real_slices = self._split_batch(real_data)
        label_slices = self._split_batch(labels)
        for real, slice_labels in zip(real_slices, label_slices):
            self._discriminator_update(real, slice_labels)
        for step in range(self.generator_steps):
            index = step % self.discriminator_steps
            self._generator_update(real_slices[index], label_slices[index])
        self._counters.train_steps.assign_add(1)
        return self._logs()

    def _test_step(self, data):
        """The losses and output means that training logs, on held-out data.

        One pass over the whole batch (no slices, no update): the networks run
        in inference mode (batch norm on its moving statistics, spectral norm's
        vector fixed), on generator inputs drawn from the evaluation noise
        stream, which every `evaluate` restarts, so that successive evaluations
        see the same noise. No training state changes: weights, optimizer slots,
        batch-norm statistics, spectral-norm vectors, the weight average, the
        training noise stream and the step count stay as they were.
        """
        real_data, labels = self._unpack(data)
        batch_size = ops.shape(real_data)[0]
        with self._evaluation_noise():
            generator_inputs = self.sample_generator_inputs(batch_size, labels)
            generated_data, generator_call_losses = _call_in_stateless_scope(
                lambda: self.generator(generator_inputs, training=False))
            # Each batch counts by its size, so that a partial last batch weighs less.
            self._track_discriminator(*self._discriminator_loss(
                real_data, generated_data, generator_inputs, labels, training=False),
                weight=batch_size)
            self.generator_loss_tracker.update_state(self._generator_loss(
                generated_data, generator_call_losses, generator_inputs, real_data, labels,
                training=False), sample_weight=batch_size)
        return self._logs()

    @contextlib.contextmanager
    def _evaluation_noise(self):
        """Draws from the evaluation noise stream while inside, the training one kept aside."""
        training_state = ops.copy(self.seed_generator.state.value)
        self.seed_generator.state.assign(self.evaluation_seed_generator.state)
        try:
            yield
        finally:
            self.evaluation_seed_generator.state.assign(self.seed_generator.state)
            self.seed_generator.state.assign(training_state)

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`, whose generator inputs restart the evaluation noise stream.

        Every evaluation (also `fit`'s `validation_data`) draws the same noise
        for the same data, so that its numbers differ only as the networks do.
        """
        self.evaluation_seed_generator.state.assign(self._initial_evaluation_seed_state)
        return super().evaluate(*args, **kwargs)

    def _discriminator_loss(self, real_data, generated_data, generator_inputs, labels,
                            training):
        """The discriminator's loss as it is trained and logged.

        The adversarial loss, the auxiliary loss, the gradient penalty (if any)
        and the regularization losses: every discriminator call's own losses
        (each call's count, as each call's did in TF-GAN's graph) and the
        weights' regularizers.

        Returns:
          `(loss, penalty or None, real_logits, generated_logits)`.
        """
        def discriminate(data, generator_inputs):
            # A scope per call: a layer called again drops its former losses from the
            # scope it is called in.
            outputs, _ = _call_in_stateless_scope(
                lambda: self.discriminate(data, generator_inputs, training=training))
            return outputs

        # Every call's losses, the penalty's call too, which on JAX leave its inner
        # gradient through the scopes (a Python list would hold values of that trace).
        with _losses_collected() as call_losses:
            real_outputs = discriminate(real_data, generator_inputs)
            generated_outputs = discriminate(generated_data, generator_inputs)
            penalty = None
            if self.gradient_penalty_weight:
                penalty = wasserstein_gradient_penalty(
                    real_data, generated_data, generator_inputs, discriminate,
                    seed=self.seed_generator,
                    gradient_scale=_loss_scale(self.discriminator_optimizer))
        real_logits = _adversarial_logits(real_outputs)
        generated_logits = _adversarial_logits(generated_outputs)
        loss = _replica_loss(self.discriminator_loss, real_logits, generated_logits)
        loss += self.discriminator_auxiliary_loss(
            generator_inputs, real_outputs, generated_outputs, labels)
        if penalty is not None:
            loss += self.gradient_penalty_weight * penalty
        regularization = list(call_losses) + _weight_regularization(self.discriminator)
        if regularization:
            loss += ops.sum([ops.cast(term, loss.dtype) for term in regularization])
        return loss, penalty, real_logits, generated_logits

    def _track_discriminator(self, loss, penalty, real_logits, generated_logits, weight=None):
        self.discriminator_loss_tracker.update_state(loss, sample_weight=weight)
        if penalty is not None:
            self.gradient_penalty_tracker.update_state(penalty, sample_weight=weight)
        self.real_output_tracker.update_state(ops.mean(real_logits), sample_weight=weight)
        self.generated_output_tracker.update_state(ops.mean(generated_logits),
                                                   sample_weight=weight)

    def _discriminator_update(self, real_data, labels):
        generator_inputs = self.sample_generator_inputs(ops.shape(real_data)[0], labels)
        # Constant here: only the discriminator's weights are differentiated.
        generated_data = ops.stop_gradient(
            self._generate_keeping_moving_statistics(generator_inputs))
        optimizer = self.discriminator_optimizer
        variables = self.discriminator.trainable_variables

        def scaled_loss_and_outputs():
            loss_and_outputs = self._discriminator_loss(
                real_data, generated_data, generator_inputs, labels, training=True)
            return (_scale_loss(optimizer, loss_and_outputs[0]),) + loss_and_outputs

        (_, *loss_and_outputs), gradients = value_and_gradients(
            scaled_loss_and_outputs, variables)
        apply_gradients(optimizer, gradients, variables)
        if self._discriminator_clip_value is not None:
            self._clip_discriminator_weights()
        self._track_discriminator(*loss_and_outputs)

    def _generate_keeping_moving_statistics(self, generator_inputs):
        """The generator's training-mode output, its batch norms' moving statistics unchanged.

        Batch normalisation normalises with the batch's statistics, as in the
        generator update. TF-GAN runs a network's update ops with that network's
        own train op only, so the generator's moving statistics advance once per
        generator update, not also in the discriminator updates that only consume
        generated data (with momentum 0.999 they average ~1000 generator updates).
        """
        moving_statistics = [variable for layer in batch_norm_layers(self.generator)
                             for variable in (layer.moving_mean, layer.moving_variance)]
        generated_data, _ = _call_in_stateless_scope(
            lambda: self.generator(generator_inputs, training=True),
            discard=moving_statistics)
        return generated_data

    def _generator_loss(self, generated_data, generator_call_losses, generator_inputs,
                        real_data, labels, training):
        """The generator's loss as it is trained and logged, for `generated_data` from
        `generator_inputs`: the adversarial and auxiliary losses and the regularization
        losses (the generator call's, `generator_call_losses`, and its weights')."""
        generated_outputs = self.discriminate(generated_data, generator_inputs, training=training)
        needs_real = getattr(self.generator_loss, "requires_real_outputs", True)
        real_logits = (_adversarial_logits(
            self.discriminate(real_data, generator_inputs, training=training))
            if needs_real else None)
        loss = _replica_loss(self.generator_loss, real_logits,
                             _adversarial_logits(generated_outputs))
        loss += self.generator_auxiliary_loss(generator_inputs, generated_outputs, labels)
        regularization = list(generator_call_losses) + _weight_regularization(self.generator)
        if regularization:
            loss += ops.sum([ops.cast(term, loss.dtype) for term in regularization])
        return loss

    def _generator_update(self, real_data, labels):
        generator_inputs = self.sample_generator_inputs(ops.shape(real_data)[0], labels)
        optimizer = self.generator_optimizer
        variables = self.generator.trainable_variables

        def scaled_loss_and_loss():
            generated_data, call_losses = _call_in_stateless_scope(
                lambda: self.generator(generator_inputs, training=True))
            loss = self._generator_loss(generated_data, call_losses, generator_inputs,
                                        real_data, labels, training=True)
            return _scale_loss(optimizer, loss), loss

        (_, loss), gradients = value_and_gradients(scaled_loss_and_loss, variables)
        apply_gradients(optimizer, gradients, variables)
        if self._generator_averages:
            self._update_generator_averages()
        self.generator_loss_tracker.update_state(loss)

    def _update_generator_averages(self):
        updates = ops.cast(self.generator_optimizer.iterations, "float32")
        decay = ops.minimum(self.generator_ema_decay, (1.0 + updates) / (10.0 + updates))
        for average, variable in zip(self._generator_averages,
                                     self.generator.trainable_variables):
            average.assign(average + (1.0 - ops.cast(decay, average.dtype))
                           * (ops.cast(variable, average.dtype) - average))

    @contextlib.contextmanager
    def generator_average(self):
        """Context in which `self.generator` holds its moving-average weights.

        Use it to sample, evaluate or export the averaged generator (see
        `generator_ema_decay`); without an average the weights stay as they
        are. On exit every generator variable, trainable or not (batch-norm
        statistics too, e.g. after `recalibrate_batch_norm` inside the block),
        gets back its value from before the block, so training resumes
        unchanged.

        Example:
          >>> gan = GANModel(generator, discriminator, generator_ema_decay=0.999)
          >>> ...  # compile, fit
          >>> with gan.generator_average():
          ...     recalibrate_batch_norm(gan.generator, noise_batches)
          ...     export_generator(gan.generator, "out/generator")
        """
        saved = [ops.copy(variable.value) for variable in self.generator.variables]
        try:
            for variable, average in zip(self.generator.trainable_variables,
                                         self._generator_averages):
                variable.assign(average)
            yield self.generator
        finally:
            for variable, value in zip(self.generator.variables, saved):
                variable.assign(value)

    @property
    def global_step(self):
        """Completed train steps, also those whose updates a loss-scale optimizer skipped.

        A checkpoint written before the model counted its steps resumes from its
        generator optimizer's update count.
        """
        counted = int(keras.ops.convert_to_numpy(self._counters.train_steps))
        updates = int(keras.ops.convert_to_numpy(self.generator_optimizer.iterations))
        return max(counted, updates // self.generator_steps)
