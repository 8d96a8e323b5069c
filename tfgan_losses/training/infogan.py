"""InfoGAN: a GAN whose generator's structured codes the discriminator must recover.

Chen et al., https://arxiv.org/abs/1606.03657, as in TF-GAN's MNIST InfoGAN
example: the generator takes `[unstructured_noise, categorical_code (one-hot),
continuous_code]`; the discriminator returns `(logits, categorical_logits,
continuous_mean)`, which define the predicted distributions
`Q(c_cat | x) = Categorical(categorical_logits)` and
`Q(c_cont | x) = Normal(continuous_mean, 1)`. Both networks minimise
`mutual_information_penalty_weight * mutual_information_penalty(codes, Q)` on
generated data, in addition to their adversarial losses.
"""

import keras
from keras import ops

from tfgan_losses.distribute import replica_slice_draw
from tfgan_losses.distributions import Categorical, Normal
from tfgan_losses.losses.mutual_information import mutual_information_penalty
from tfgan_losses.training.gan_model import GANModel


@keras.saving.register_keras_serializable(package="tfgan_losses")
class InfoGANModel(GANModel):
    """`GANModel` with InfoGAN's structured codes and mutual-information penalty.

    Codes are drawn per batch: the categorical code uniformly over its
    categories (one-hot), the continuous code uniformly in [-1, 1], as in
    TF-GAN's example. The penalty is logged as `mutual_information_penalty`.

    Args:
      generator: Keras model taking `[unstructured_noise, categorical_code,
        continuous_code]`; the codes' sizes are read from its inputs.
      discriminator: Keras model returning `(logits, categorical_logits,
        continuous_mean)`.
      mutual_information_penalty_weight: Weight of the penalty, >= 0
        (TF-GAN's example: 1.0).
      **kwargs: `GANModel` arguments.

    Raises:
      ValueError: If the generator does not take three inputs or the weight
        is negative.

    Example:
      >>> gan = InfoGANModel(infogan_generator(), infogan_discriminator())
      >>> gan.compile(gradient_penalty_weight=1.0)
      >>> gan.fit(load_mnist("train", 32), epochs=1)
    """

    def __init__(self, generator, discriminator, mutual_information_penalty_weight=1.0,
                 **kwargs):
        inputs = getattr(generator, "inputs", None) or ()
        if len(inputs) != 3:
            raise ValueError("`generator` of an InfoGANModel must take three inputs, "
                             "[unstructured_noise, categorical_code, continuous_code].")
        if mutual_information_penalty_weight < 0:
            raise ValueError("`mutual_information_penalty_weight` must be >= 0; got "
                             f"{mutual_information_penalty_weight}.")
        super().__init__(generator, discriminator, **kwargs)
        self.categorical_dim = inputs[1].shape[-1]
        self.continuous_dim = inputs[2].shape[-1]
        self.mutual_information_penalty_weight = mutual_information_penalty_weight
        self.mutual_information_tracker = keras.metrics.Mean(name="mutual_information_penalty")

    def get_config(self):
        return {**super().get_config(),
                "mutual_information_penalty_weight": self.mutual_information_penalty_weight}

    @property
    def metrics(self):
        return super().metrics + [self.mutual_information_tracker]

    def sample_generator_inputs(self, batch_size, labels=None):
        """Returns `[noise, one-hot categorical code, continuous code in [-1, 1]]`."""
        categories = replica_slice_draw(
            lambda n: keras.random.randint((n,), 0, self.categorical_dim,
                                           seed=self.seed_generator), batch_size)
        continuous_code = replica_slice_draw(
            lambda n: keras.random.uniform((n, self.continuous_dim), -1.0, 1.0,
                                           seed=self.seed_generator), batch_size)
        return [super().sample_generator_inputs(batch_size),
                ops.one_hot(categories, self.categorical_dim), continuous_code]

    def _penalty(self, generator_inputs, generated_outputs):
        _, categorical_code, continuous_code = generator_inputs
        _, categorical_logits, continuous_mean = generated_outputs
        penalty = mutual_information_penalty(
            [ops.argmax(categorical_code, axis=-1), continuous_code],
            [Categorical(categorical_logits), Normal(continuous_mean, 1.0)])
        self.mutual_information_tracker.update_state(penalty)
        return self.mutual_information_penalty_weight * penalty

    def discriminator_auxiliary_loss(self, generator_inputs, real_outputs, generated_outputs,
                                     labels):
        return self._penalty(generator_inputs, generated_outputs)

    def generator_auxiliary_loss(self, generator_inputs, generated_outputs, labels):
        return self._penalty(generator_inputs, generated_outputs)
