"""InfoGAN's mutual-information penalty.

Chen et al., "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets", https://arxiv.org/abs/1606.03657.
The mutual information between structured codes c and the generator's output
is bounded below by `E[log Q(c | G(z, c))] + H(c)`; maximising the bound means
minimising the negative log-likelihood of the codes under the distributions Q
that an auxiliary head of the discriminator predicts.
"""

from keras import ops

from tfgan_losses.losses.reduction import Reduction, compute_weighted_loss


def _validate_information_penalty_inputs(structured_generator_inputs, predicted_distributions):
    if not isinstance(predicted_distributions, (list, tuple)):
        raise ValueError(
            "`predicted_distributions` must be a list or tuple of distributions; got "
            f"{type(predicted_distributions).__name__}.")
    for distribution in predicted_distributions:
        if not callable(getattr(distribution, "log_prob", None)):
            raise ValueError(
                "`predicted_distributions` must hold objects with a `log_prob` method "
                f"(e.g. tfgan_losses.distributions.Normal); got {type(distribution).__name__}.")
    if len(structured_generator_inputs) != len(predicted_distributions):
        raise ValueError(
            f"`structured_generator_inputs` length {len(structured_generator_inputs)} must "
            f"be the same as `predicted_distributions` length {len(predicted_distributions)}.")


def mutual_information_penalty(
        structured_generator_inputs, predicted_distributions, weights=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """InfoGAN penalty, `-sum_i w_i E[log Q_i(c_i | G(z, c))] / n`: the codes' mean NLL.

    Each code's log-likelihood is averaged over all its elements; the list of
    averages is then weighted and reduced like any TF-GAN loss.

    Args:
      structured_generator_inputs: List of code tensors c_i fed to the generator.
      predicted_distributions: List of distributions Q_i of the same length, any
        objects with `log_prob(value)` (`tfgan_losses.distributions` or
        TensorFlow Probability's).
      weights: Scalar, or one weight per code.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value over the per-code terms.

    Returns:
      The penalty, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the lists' lengths differ or a distribution has no `log_prob`.

    Example:
      >>> from tfgan_losses.distributions import Normal
      >>> mutual_information_penalty([[0.0]], [Normal(loc=[0.0], scale=[1.0])])
      0.9189385  # log sqrt(2 pi)
    """
    del scope, loss_collection, add_summaries
    _validate_information_penalty_inputs(structured_generator_inputs, predicted_distributions)
    log_probs = ops.stack([
        ops.mean(ops.cast(distribution.log_prob(code), "float32"))
        for distribution, code in zip(predicted_distributions, structured_generator_inputs)])
    return -compute_weighted_loss(log_probs, weights, reduction)
