"""`keras.losses.Loss` subclasses for every TF-GAN adversarial loss.

Each class computes exactly its functional twin (same name in CamelCase, same
hyper-parameters and defaults, TF-GAN's `reduction` strings) and is registered
for Keras serialization, so it round-trips through `get_config`,
`keras.losses.serialize`/`deserialize` and `.keras` files.

Calling convention, `loss(y_true, y_pred, sample_weight=None)`:

* Generator losses: `y_pred` = discriminator outputs on generated data;
  `y_true` is ignored (pass `None`). Relativistic losses are the exception.
* Discriminator losses and both relativistic losses: `y_true` = discriminator
  outputs on *real* data, `y_pred` = outputs on *generated* data, same shape.
* `ACGANGeneratorLoss`: `y_true` = one-hot labels, `y_pred` = class logits on
  generated data.
* `ACGANDiscriminatorLoss`: `y_true` = one-hot labels, `y_pred` = a pair
  `(class logits on real data, class logits on generated data)`.

Besides the loss's hyper-parameters and TF-GAN's `reduction`, every class
takes Keras's `name` and `dtype` (the dtype inputs are converted to and the
loss is computed in; default `keras.backend.floatx()`).

`sample_weight` plays the role of TF-GAN's `weights` (both `real_weights` and
`generated_weights` for two-sided losses); a [batch] weight vector is expanded
to the outputs' rank, so Keras's per-example weights work with [batch, 1]
outputs.

Under `tf.distribute` with several replicas, calling a loss divides the
averaging reductions (all but `SUM` and `NONE`) by the replica count, as
Keras's own losses do, so that `model.compile(loss=...)` sums the replicas'
gradients to the global batch's. Like Keras's, this is exact when every
replica's share of the weights has the same total (e.g. unweighted, even
batches); `per_replica` gives the loss without that division.
"""

import keras
from keras import ops, tree

from tfgan_losses.distribute import scale_loss_for_replicas
from tfgan_losses.losses.acgan import acgan_discriminator_loss, acgan_generator_loss
from tfgan_losses.losses.least_squares import (
    least_squares_discriminator_loss, least_squares_generator_loss)
from tfgan_losses.losses.minimax import (
    minimax_discriminator_loss, minimax_generator_loss, modified_discriminator_loss,
    modified_generator_loss)
from tfgan_losses.losses.reduction import Reduction
from tfgan_losses.losses.relativistic import (
    relativistic_discriminator_loss, relativistic_generator_loss)
from tfgan_losses.losses.wasserstein import (
    wasserstein_discriminator_loss, wasserstein_generator_loss,
    wasserstein_hinge_discriminator_loss, wasserstein_hinge_generator_loss)

_SUM_BY_NONZERO_WEIGHTS = Reduction.SUM_BY_NONZERO_WEIGHTS
_register = keras.saving.register_keras_serializable(package="tfgan_losses")


def _expand_to_rank(weights, rank):
    """Appends unit axes to non-scalar `weights` until they have rank `rank`."""
    weights = ops.convert_to_tensor(weights)
    while 0 < len(weights.shape) < rank:
        weights = ops.expand_dims(weights, -1)
    return weights


class GANLoss(keras.losses.Loss):
    """Base class: a Keras `Loss` that evaluates one TF-GAN loss function.

    Subclasses set `loss_fn` and implement `_evaluate`. Hyper-parameters passed
    to `__init__` are forwarded to `loss_fn` and saved by `get_config`.

    Attributes:
      loss_fn: The functional loss, e.g. `minimax_discriminator_loss`.
      requires_real_outputs: Whether the loss reads discriminator outputs on
        real data; a generator step skips that forward pass when False.
    """

    loss_fn = None
    requires_real_outputs = True

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS, name=None, dtype=None,
                 **hyperparameters):
        super().__init__(name=name, reduction="none", dtype=dtype)
        self.reduction = Reduction.validate(reduction)
        self.hyperparameters = hyperparameters
        self._dtype_argument = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Returns the loss of `y_pred` (and `y_true`), weighted by `sample_weight`.

        Inputs are converted to the loss's `dtype` (default
        `keras.backend.floatx()`), as Keras's own losses do. Under
        `tf.distribute`, an averaging reduction is divided by the replica count
        (see the module docstring).
        """
        loss = self.per_replica(y_true, y_pred, sample_weight)
        if self.reduction in (Reduction.SUM, Reduction.NONE):
            return loss
        return scale_loss_for_replicas(loss)

    def per_replica(self, y_true, y_pred, sample_weight=None):
        """The loss of this replica's batch, as the functional loss computes it."""
        to_tensor = lambda x: None if x is None else ops.convert_to_tensor(x, self.dtype)
        y_true, y_pred = tree.map_structure(to_tensor, (y_true, y_pred), none_is_leaf=True)
        weights = 1.0 if sample_weight is None else sample_weight
        with keras.name_scope(self.name):
            return self._evaluate(y_true, y_pred, weights)

    def _evaluate(self, y_true, y_pred, weights):
        raise NotImplementedError

    def call(self, y_true, y_pred):
        """Unweighted, reduced loss (Keras's hook; `__call__` does the work)."""
        return self(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self._dtype_argument,
                **self.hyperparameters}


class GeneratedOutputsLoss(GANLoss):
    """A loss of the discriminator's outputs on generated data alone (`y_pred`)."""

    requires_real_outputs = False

    def _evaluate(self, y_true, y_pred, weights):
        del y_true
        y_pred = ops.convert_to_tensor(y_pred)
        return type(self).loss_fn(
            y_pred, weights=_expand_to_rank(weights, len(y_pred.shape)),
            reduction=self.reduction, **self.hyperparameters)


class RealAndGeneratedOutputsLoss(GANLoss):
    """A loss of outputs on real data (`y_true`) and on generated data (`y_pred`)."""

    def _evaluate(self, y_true, y_pred, weights):
        if y_true is None:
            raise ValueError(
                f"{type(self).__name__} needs `y_true` = discriminator outputs on real "
                "data and `y_pred` = outputs on generated data; got y_true=None.")
        y_pred = ops.convert_to_tensor(y_pred)
        weights = _expand_to_rank(weights, len(y_pred.shape))
        return type(self).loss_fn(
            y_true, y_pred, real_weights=weights, generated_weights=weights,
            reduction=self.reduction, **self.hyperparameters)


@_register
class WassersteinGeneratorLoss(GeneratedOutputsLoss):
    """Keras form of `wasserstein_generator_loss`: `-E[D(G(z))]`.

    Example:
      >>> WassersteinGeneratorLoss()(None, [1.0, 3.0])
      -2.0
    """

    loss_fn = staticmethod(wasserstein_generator_loss)

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="wasserstein_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


@_register
class WassersteinDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `wasserstein_discriminator_loss`: `E[D(G(z))] - E[D(x)]`.

    Example:
      >>> WassersteinDiscriminatorLoss()([2.0, 4.0], [1.0, 1.0])  # (real, generated)
      -2.0
    """

    loss_fn = staticmethod(wasserstein_discriminator_loss)

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="wasserstein_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


@_register
class WassersteinHingeGeneratorLoss(GeneratedOutputsLoss):
    """Keras form of `wasserstein_hinge_generator_loss`: `-E[D(G(z))]`.

    Example:
      >>> WassersteinHingeGeneratorLoss()(None, [1.0, 3.0])
      -2.0
    """

    loss_fn = staticmethod(wasserstein_hinge_generator_loss)

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="wasserstein_hinge_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


@_register
class WassersteinHingeDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `wasserstein_hinge_discriminator_loss`.

    `E[relu(real_hinge - D(x))] + E[relu(generated_hinge + D(G(z)))]`.

    Example:
      >>> WassersteinHingeDiscriminatorLoss()([2.0, 0.0], [-2.0, 0.5])
      1.25
    """

    loss_fn = staticmethod(wasserstein_hinge_discriminator_loss)

    def __init__(self, real_hinge=1.0, generated_hinge=1.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="wasserstein_hinge_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, real_hinge=real_hinge,
                         generated_hinge=generated_hinge)


@_register
class MinimaxGeneratorLoss(GeneratedOutputsLoss):
    """Keras form of `minimax_generator_loss` (saturating, with TF-GAN's constant term).

    Example:
      >>> MinimaxGeneratorLoss()(None, [0.0])
      -1.0064089
    """

    loss_fn = staticmethod(minimax_generator_loss)

    def __init__(self, label_smoothing=0.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="minimax_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         label_smoothing=label_smoothing)


@_register
class MinimaxDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `minimax_discriminator_loss` (real label smoothed by 0.25 by default).

    Example:
      >>> MinimaxDiscriminatorLoss(label_smoothing=0.0)([0.0], [0.0])
      1.3862944
    """

    loss_fn = staticmethod(minimax_discriminator_loss)

    def __init__(self, label_smoothing=0.25, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="minimax_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         label_smoothing=label_smoothing)


@_register
class ModifiedGeneratorLoss(GeneratedOutputsLoss):
    """Keras form of `modified_generator_loss`: `-E[log D(G(z))]` (non-saturating).

    Example:
      >>> ModifiedGeneratorLoss()(None, [0.0])
      0.6931472
    """

    loss_fn = staticmethod(modified_generator_loss)

    def __init__(self, label_smoothing=0.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="modified_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         label_smoothing=label_smoothing)


@_register
class ModifiedDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `modified_discriminator_loss` (equal to the minimax one).

    Example:
      >>> ModifiedDiscriminatorLoss(label_smoothing=0.0)([0.0], [0.0])
      1.3862944
    """

    loss_fn = staticmethod(modified_discriminator_loss)

    def __init__(self, label_smoothing=0.25, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="modified_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         label_smoothing=label_smoothing)


@_register
class LeastSquaresGeneratorLoss(GeneratedOutputsLoss):
    """Keras form of `least_squares_generator_loss`: `E[(D(G(z)) - real_label)^2] / 2`.

    Example:
      >>> LeastSquaresGeneratorLoss()(None, [0.0, 3.0])
      1.25
    """

    loss_fn = staticmethod(least_squares_generator_loss)

    def __init__(self, real_label=1.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="least_squares_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, real_label=real_label)


@_register
class LeastSquaresDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `least_squares_discriminator_loss`.

    `E[(D(x) - real_label)^2] / 2 + E[(D(G(z)) - fake_label)^2] / 2`.

    Example:
      >>> LeastSquaresDiscriminatorLoss()([1.0], [2.0])
      2.0
    """

    loss_fn = staticmethod(least_squares_discriminator_loss)

    def __init__(self, real_label=1.0, fake_label=0.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="least_squares_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, real_label=real_label,
                         fake_label=fake_label)


@_register
class RelativisticGeneratorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `relativistic_generator_loss` (needs real outputs as `y_true`).

    Example:
      >>> RelativisticGeneratorLoss()([1.0, 1.0], [1.0, 1.0])
      1.3862944
    """

    loss_fn = staticmethod(relativistic_generator_loss)

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="relativistic_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


@_register
class RelativisticDiscriminatorLoss(RealAndGeneratedOutputsLoss):
    """Keras form of `relativistic_discriminator_loss`.

    Example:
      >>> RelativisticDiscriminatorLoss()([1.0, 1.0], [1.0, 1.0])
      1.3862944
    """

    loss_fn = staticmethod(relativistic_discriminator_loss)

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="relativistic_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


@_register
class ACGANGeneratorLoss(GANLoss):
    """Keras form of `acgan_generator_loss`: `y_true` one-hot labels, `y_pred` class logits.

    Example:
      >>> ACGANGeneratorLoss()([[0, 1]], [[0.0, 0.0]])
      0.6931472
    """

    loss_fn = staticmethod(acgan_generator_loss)
    requires_real_outputs = False

    def __init__(self, reduction=_SUM_BY_NONZERO_WEIGHTS, name="acgan_generator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def _evaluate(self, y_true, y_pred, weights):
        y_pred = ops.convert_to_tensor(y_pred)
        return acgan_generator_loss(
            y_pred, y_true, weights=_expand_to_rank(weights, len(y_pred.shape) - 1),
            reduction=self.reduction)


@_register
class ACGANDiscriminatorLoss(GANLoss):
    """Keras form of `acgan_discriminator_loss`.

    `y_true` = one-hot labels; `y_pred` = `(class logits on real data, class
    logits on generated data)`.

    Example:
      >>> ACGANDiscriminatorLoss()([[1, 0]], ([[0.0, 0.0]], [[0.0, 0.0]]))
      1.3862944
    """

    loss_fn = staticmethod(acgan_discriminator_loss)

    def __init__(self, label_smoothing=0.0, reduction=_SUM_BY_NONZERO_WEIGHTS,
                 name="acgan_discriminator_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         label_smoothing=label_smoothing)

    def _evaluate(self, y_true, y_pred, weights):
        if not isinstance(y_pred, (tuple, list)) or len(y_pred) != 2:
            raise ValueError(
                "ACGANDiscriminatorLoss expects `y_pred` = (real class logits, generated "
                f"class logits); got {type(y_pred).__name__}.")
        real_logits, gen_logits = (ops.convert_to_tensor(x) for x in y_pred)
        weights = _expand_to_rank(weights, len(real_logits.shape) - 1)
        return acgan_discriminator_loss(
            real_logits, gen_logits, y_true, real_weights=weights, generated_weights=weights,
            reduction=self.reduction, **self.hyperparameters)


LOSS_CLASSES = {cls.loss_fn.__name__: cls for cls in (
    WassersteinGeneratorLoss, WassersteinDiscriminatorLoss,
    WassersteinHingeGeneratorLoss, WassersteinHingeDiscriminatorLoss,
    MinimaxGeneratorLoss, MinimaxDiscriminatorLoss,
    ModifiedGeneratorLoss, ModifiedDiscriminatorLoss,
    LeastSquaresGeneratorLoss, LeastSquaresDiscriminatorLoss,
    RelativisticGeneratorLoss, RelativisticDiscriminatorLoss,
    ACGANGeneratorLoss, ACGANDiscriminatorLoss)}
"""TF-GAN function name -> Loss class, e.g. `"minimax_discriminator_loss"`."""


def get(identifier):
    """Returns a `GANLoss` for a Loss, TF-GAN name, class name, functional loss or config.

    Args:
      identifier: A `GANLoss` instance (returned as is); a TF-GAN name such as
        `"modified_generator_loss"` or a class name such as
        `"ModifiedGeneratorLoss"` (default hyper-parameters); one of this
        package's loss functions; or a serialized config dict.

    Returns:
      A `GANLoss` instance.

    Raises:
      ValueError: If the identifier names no TF-GAN adversarial loss.

    Example:
      >>> get("minimax_discriminator_loss").get_config()["label_smoothing"]
      0.25
    """
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, dict):
        loss = keras.losses.deserialize(identifier)
        if not isinstance(loss, GANLoss):
            raise ValueError(f"The config {identifier!r} describes {type(loss).__name__}, "
                             "not a TF-GAN adversarial loss (GANLoss).")
        return loss
    by_class_name = {cls.__name__: cls for cls in LOSS_CLASSES.values()}
    if isinstance(identifier, str):
        cls = LOSS_CLASSES.get(identifier) or by_class_name.get(identifier)
    else:
        cls = LOSS_CLASSES.get(getattr(identifier, "__name__", None))
        if cls is not None and cls.loss_fn is not identifier:
            cls = None
    if cls is None:
        raise ValueError(
            f"Unknown GAN loss {identifier!r}; expected a GANLoss, one of "
            f"{sorted(LOSS_CLASSES)}, or their class names.")
    return cls()
