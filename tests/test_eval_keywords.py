"""TF-GAN 2.1.0 keyword names of the eval functions, beside this package's own.

TF-GAN 2.1.0 (`pip install tensorflow-gan`, tensorflow_gan/python/eval/
classifier_metrics.py) names the activation arguments `activations1` /
`activations2` and the image arguments `input_tensor` (one set) or
`input_tensor1` / `input_tensor2` (two sets), where this package keeps the
names of earlier releases (`real_activations`, `real_images`, `images`, ...).
Every function accepts both spellings; positional calls are unchanged.
"""

import inspect

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfgan_losses import eval as tfgan_eval
from tfgan_losses.eval import _validation


def _rng(seed):
    return np.random.default_rng(seed)


def _activations(seed, num_samples=24, dim=5, shift=0.0):
    rng = _rng(seed)
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim) + np.eye(dim)
    return rng.standard_normal((num_samples, dim)) @ mixing + shift


def _images(seed, num_images=12):
    return _rng(seed).standard_normal((num_images, 4, 4, 1))


_WEIGHTS = _rng(99).standard_normal((16, 6))


def _classifier(images):
    """A linear classifier_fn on flattened 4x4x1 images (6 outputs)."""
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    return tf.matmul(flat, tf.cast(_WEIGHTS, flat.dtype))


_ACT_ALIASES = {"real_activations": "activations1", "generated_activations": "activations2"}
_PAIR_ALIASES = {"real_images": "input_tensor1", "generated_images": "input_tensor2"}
_ONE_ALIAS = {"images": "input_tensor"}

# (function, inputs passed by the renamed arguments, current -> TF-GAN 2.1.0
# names of those arguments, further keyword arguments of the call).
_CASES = [
    (tfgan_eval.frechet_classifier_distance_from_activations,
     (_activations(0), _activations(1, shift=0.5)), _ACT_ALIASES, {}),
    (tfgan_eval.mean_only_frechet_classifier_distance_from_activations,
     (_activations(2), _activations(3, shift=0.5)), _ACT_ALIASES, {}),
    (tfgan_eval.diagonal_only_frechet_classifier_distance_from_activations,
     (_activations(4), _activations(5, shift=0.5)), _ACT_ALIASES, {}),
    (tfgan_eval.kernel_classifier_distance_from_activations,
     (_activations(6), _activations(7, shift=0.5)), _ACT_ALIASES,
     {"max_block_size": 8, "dtype": tf.float64}),
    (tfgan_eval.kernel_classifier_distance_and_std_from_activations,
     (_activations(8), _activations(9, shift=0.5)), _ACT_ALIASES, {"max_block_size": 8}),
    (tfgan_eval.frechet_classifier_distance,
     (_images(10), _images(11)), _PAIR_ALIASES,
     {"classifier_fn": _classifier, "num_batches": 3}),
    (tfgan_eval.kernel_classifier_distance,
     (_images(12), _images(13)), _PAIR_ALIASES,
     {"classifier_fn": _classifier, "num_batches": 2, "max_block_size": 6}),
    (tfgan_eval.kernel_classifier_distance_and_std,
     (_images(14), _images(15)), _PAIR_ALIASES,
     {"classifier_fn": _classifier, "num_batches": 2, "max_block_size": 4,
      "dtype": tf.float64}),
    (tfgan_eval.classifier_score, (_images(16),), _ONE_ALIAS,
     {"classifier_fn": _classifier, "num_batches": 4}),
    (tfgan_eval.run_classifier_fn, (_images(17),), _ONE_ALIAS,
     {"classifier_fn": _classifier, "num_batches": 3}),
]
_IDS = [case[0].__name__ for case in _CASES]


def _numpy(value):
    return tf.nest.map_structure(lambda t: np.asarray(t), value)


def _assert_same(actual, expected):
    actual, expected = _numpy(actual), _numpy(expected)
    tf.nest.assert_same_structure(actual, expected)
    for a, e in zip(tf.nest.flatten(actual), tf.nest.flatten(expected), strict=True):
        # Same computation under another spelling: equal to rounding.
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def _positional_call(function, inputs, extra):
    """Every argument positionally, in the order of the signature."""
    params = list(inspect.signature(function).parameters)[len(inputs):]
    assert list(extra) == params[: len(extra)], "extra must be a prefix of the rest"
    return function(*inputs, *extra.values())


@pytest.mark.parametrize("function, inputs, aliases, extra", _CASES, ids=_IDS)
def test_positional_current_and_tfgan_210_keywords_agree(function, inputs, aliases, extra):
    positional = _positional_call(function, inputs, extra)
    current = function(**dict(zip(aliases, inputs)), **extra)
    tfgan_210 = function(**dict(zip(aliases.values(), inputs)), **extra)
    _assert_same(current, positional)
    _assert_same(tfgan_210, positional)
    if len(inputs) == 2:
        # The first positionally, the second under its TF-GAN 2.1.0 name.
        _assert_same(function(inputs[0], **{list(aliases.values())[1]: inputs[1]}, **extra),
                     positional)
        # One of each spelling by keyword.
        first, second = aliases
        _assert_same(function(**{first: inputs[0], aliases[second]: inputs[1]}, **extra),
                     positional)


@pytest.mark.parametrize("function, inputs, aliases, extra", _CASES, ids=_IDS)
def test_both_spellings_of_one_argument_raise(function, inputs, aliases, extra):
    current_names = list(aliases)
    for index, (current, alias) in enumerate(aliases.items()):
        keywords = dict(zip(current_names, inputs), **extra)
        keywords[alias] = inputs[index]
        with pytest.raises(ValueError, match=rf"`{current}`.*TF-GAN 2\.1\.0.*`{alias}`"):
            function(**keywords)
    # Positionally and by the TF-GAN 2.1.0 name: the same clear error.
    first_current, first_alias = next(iter(aliases.items()))
    with pytest.raises(ValueError, match=rf"`{first_current}`.*`{first_alias}`, not both"):
        function(*inputs, **{first_alias: inputs[0]}, **extra)


@pytest.mark.parametrize("function, inputs, aliases, extra", _CASES, ids=_IDS)
def test_signature_and_docstring_keep_current_names_and_mention_aliases(
    function, inputs, aliases, extra
):
    params = inspect.signature(function).parameters
    assert list(params)[: len(aliases)] == list(aliases)
    assert not set(aliases.values()) & set(params)
    for alias in aliases.values():
        assert f"`{alias}`" in function.__doc__
    assert function._keyword_aliases == {alias: current for current, alias in aliases.items()}


def _gaussian_frechet_oracle(x, y):
    """|mu1 - mu2|^2 + Tr(C1 + C2 - 2 sqrtm(C1 C2)), in numpy / scipy."""
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    return (np.sum((x.mean(0) - y.mean(0)) ** 2)
            + np.trace(cov_x + cov_y - 2.0 * scipy.linalg.sqrtm(cov_x @ cov_y).real))


def test_tfgan_210_keywords_match_independent_frechet_oracle():
    x = _activations(20, num_samples=200, dim=6)
    y = _activations(21, num_samples=150, dim=6, shift=0.3)
    value = tfgan_eval.frechet_classifier_distance_from_activations(activations1=x, activations2=y)
    assert value.dtype == tf.float64
    np.testing.assert_allclose(value.numpy(), _gaussian_frechet_oracle(x, y), rtol=1e-8, atol=1e-10)


def test_tfgan_210_call_of_kernel_distance_with_every_keyword():
    """A KID call as written against TF-GAN 2.1.0, every argument by keyword."""
    real, generated = _images(30, num_images=16), _images(31, num_images=16)
    kid, std = tfgan_eval.kernel_classifier_distance_and_std(
        input_tensor1=real, input_tensor2=generated, classifier_fn=_classifier,
        num_batches=4, max_block_size=4, dtype=tf.float64,
    )
    expected = tfgan_eval.kernel_classifier_distance_and_std_from_activations(
        _classifier(real), _classifier(generated), 4, tf.float64
    )
    _assert_same((kid, std), expected)
    assert np.isfinite(std.numpy())


def test_alias_errors_reach_the_wrapped_function_unchanged():
    """Validation errors keep naming the current parameters under either spelling."""
    good = np.ones((10, 4))
    with pytest.raises(ValueError, match="`real_activations` must be a rank-2"):
        tfgan_eval.frechet_classifier_distance_from_activations(
            activations1=np.ones((10, 4, 1)), activations2=good)
    with pytest.raises(TypeError):
        tfgan_eval.frechet_classifier_distance_from_activations(activations1=good)


def test_accepts_aliases_rejects_bad_declarations():
    def metric(real, generated=None, *, scale=1.0):
        return real, generated, scale

    wrapped = _validation.accepts_aliases(first="real", factor="scale")(metric)
    assert wrapped(first=1, generated=2, factor=3.0) == (1, 2, 3.0)
    with pytest.raises(ValueError, match="`scale`.*`factor`, not both"):
        wrapped(1, scale=2.0, factor=3.0)
    with pytest.raises(ValueError, match="shadows a parameter"):
        _validation.accepts_aliases(generated="real")(metric)
    with pytest.raises(ValueError, match="not a keyword parameter"):
        _validation.accepts_aliases(first="missing")(metric)
