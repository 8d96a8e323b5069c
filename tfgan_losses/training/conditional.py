"""Class-conditional GANs (Mirza & Osindero, https://arxiv.org/abs/1411.1784) and ACGAN.

The dataset yields `(images, one_hot_labels)`. The generator takes
`[noise, one_hot_labels]`, with the real batch's labels as in TF-GAN's
conditional MNIST example; a discriminator with two inputs gets
`[data, one_hot_labels]`, one with a single input gets the data alone.

For ACGAN (Odena et al., https://arxiv.org/abs/1610.09585) the discriminator
returns `(logits, class_logits)`; give `aux_cond_generator_weight` and
`aux_cond_discriminator_weight` (TF-GAN's `gan_loss` names) to add the
weighted `acgan_generator_loss` / `acgan_discriminator_loss` on those class
logits.
"""

import keras

from tfgan_losses.losses.acgan import acgan_discriminator_loss, acgan_generator_loss
from tfgan_losses.training.gan_model import GANModel


def _class_logits(outputs):
    """The class logits of an ACGAN discriminator's `(logits, class_logits)` outputs."""
    if not isinstance(outputs, (tuple, list)) or len(outputs) < 2:
        raise ValueError("`aux_cond_generator_weight` / `aux_cond_discriminator_weight` need a "
                         "discriminator that returns (logits, class_logits).")
    return outputs[1]


@keras.saving.register_keras_serializable(package="tfgan_losses")
class ConditionalGANModel(GANModel):
    """`GANModel` whose networks are conditioned on one-hot class labels.

    Args:
      generator: Keras model taking `[noise, one_hot_labels]`.
      discriminator: Keras model taking `[data, one_hot_labels]` or `data`,
        returning logits, or `(logits, class_logits)` for ACGAN.
      aux_cond_generator_weight: Weight of the ACGAN generator loss, or None.
      aux_cond_discriminator_weight: Weight of the ACGAN discriminator loss,
        or None.
      **kwargs: `GANModel` arguments (`discriminator_steps`, `seed`, ...).

    Raises:
      ValueError: If the generator does not take two inputs, or an ACGAN
        weight is negative.

    Example:
      >>> gan = ConditionalGANModel(conditional_generator(), conditional_discriminator())
      >>> gan.compile(generator_loss="modified_generator_loss",
      ...             discriminator_loss="modified_discriminator_loss")
      >>> gan.fit(load_mnist("train", 32, with_labels=True), epochs=1)
    """

    def __init__(self, generator, discriminator, aux_cond_generator_weight=None,
                 aux_cond_discriminator_weight=None, **kwargs):
        if len(getattr(generator, "inputs", None) or ()) != 2:
            raise ValueError("`generator` of a ConditionalGANModel must take two inputs, "
                             "[noise, one_hot_labels].")
        for name, weight in (("aux_cond_generator_weight", aux_cond_generator_weight),
                             ("aux_cond_discriminator_weight", aux_cond_discriminator_weight)):
            if weight is not None and weight < 0:
                raise ValueError(f"`{name}` must be >= 0; got {weight}.")
        super().__init__(generator, discriminator, **kwargs)
        self.aux_cond_generator_weight = aux_cond_generator_weight
        self.aux_cond_discriminator_weight = aux_cond_discriminator_weight

    def get_config(self):
        return {**super().get_config(),
                "aux_cond_generator_weight": self.aux_cond_generator_weight,
                "aux_cond_discriminator_weight": self.aux_cond_discriminator_weight}

    def sample_generator_inputs(self, batch_size, labels=None):
        """Returns `[noise, labels]`: fresh noise, conditioned on the real batch's labels."""
        if labels is None:
            raise ValueError("ConditionalGANModel needs a dataset of (images, one_hot_labels).")
        return [super().sample_generator_inputs(batch_size), labels]

    def discriminate(self, data, generator_inputs, training=True):
        if len(self.discriminator.inputs) == 2:
            return self.discriminator([data, generator_inputs[1]], training=training)
        return self.discriminator(data, training=training)

    def discriminator_auxiliary_loss(self, generator_inputs, real_outputs, generated_outputs,
                                     labels):
        if not self.aux_cond_discriminator_weight:
            return 0.0
        return self.aux_cond_discriminator_weight * acgan_discriminator_loss(
            _class_logits(real_outputs), _class_logits(generated_outputs), generator_inputs[1])

    def generator_auxiliary_loss(self, generator_inputs, generated_outputs, labels):
        if not self.aux_cond_generator_weight:
            return 0.0
        return self.aux_cond_generator_weight * acgan_generator_loss(
            _class_logits(generated_outputs), generator_inputs[1])
