"""Tests for tfgan_losses.eval against independent numpy / scipy oracles."""

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import scipy.special
import tensorflow as tf

from tfgan_losses import eval as tfgan_eval
from tfgan_losses.eval import sliced_wasserstein


def _rng(seed=0):
    return np.random.default_rng(seed)


def _correlated(rng, num_samples, dim, shift=0.0):
    """Gaussian samples with a random full covariance (well conditioned)."""
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim) + np.eye(dim)
    return rng.standard_normal((num_samples, dim)) @ mixing + shift


def _linear_classifier(weights):
    """A classifier_fn: flattens each image and multiplies by `weights`."""

    def classify(images):
        flat = tf.reshape(images, [tf.shape(images)[0], -1])
        return tf.matmul(flat, tf.cast(weights, flat.dtype))

    return classify


# --- Oracles -----------------------------------------------------------------


def _fid_oracle(x, y):
    mean_term = np.sum((x.mean(0) - y.mean(0)) ** 2)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    sqrt_product = scipy.linalg.sqrtm(cov_x @ cov_y).real
    return mean_term + np.trace(cov_x + cov_y - 2 * sqrt_product)


def _classifier_score_oracle(logits):
    p = scipy.special.softmax(logits, axis=1)
    log_p = scipy.special.log_softmax(logits, axis=1)
    kl = np.sum(p * (log_p - np.log(p.mean(0))), axis=1)
    return np.exp(kl.mean())


def _mmd2_oracle(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, by explicit double sums."""
    d = x.shape[1]

    def kernel(a, b):
        return (a @ b / d + 1) ** 3

    m, n = len(x), len(y)
    k_xx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    k_yy = sum(kernel(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    k_xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(n))
    return k_xx / (m * (m - 1)) + k_yy / (n * (n - 1)) - 2 * k_xy / (m * n)


# --- Fréchet distance ------------------------------------------------------------


def test_frechet_distance_matches_scipy_sqrtm_formula():
    rng = _rng(0)
    real = _correlated(rng, 300, 12)
    generated = 1.3 * _correlated(rng, 250, 12, shift=0.4)
    fid = tfgan_eval.frechet_classifier_distance_from_activations(real, generated)
    assert fid.dtype == tf.float64
    np.testing.assert_allclose(fid.numpy(), _fid_oracle(real, generated), rtol=1e-6)


def test_frechet_distance_float32_inputs_return_float32_computed_in_float64():
    rng = _rng(1)
    real = _correlated(rng, 200, 6).astype(np.float32)
    generated = _correlated(rng, 200, 6, shift=0.2).astype(np.float32)
    fid = tfgan_eval.frechet_classifier_distance_from_activations(real, generated)
    assert fid.dtype == tf.float32
    expected = _fid_oracle(real.astype(np.float64), generated.astype(np.float64))
    np.testing.assert_allclose(fid.numpy(), expected, rtol=1e-5)


def test_frechet_distance_of_identical_sets_is_zero():
    real = _correlated(_rng(2), 100, 8)
    fid = tfgan_eval.frechet_classifier_distance_from_activations(real, real)
    assert abs(fid.numpy()) < 1e-9


def test_frechet_distance_of_shifted_set_is_squared_shift_norm():
    rng = _rng(3)
    real = _correlated(rng, 100, 8)
    shift = rng.standard_normal(8)
    fid = tfgan_eval.frechet_classifier_distance_from_activations(real, real + shift)
    np.testing.assert_allclose(fid.numpy(), np.sum(shift**2), rtol=1e-8)


def test_mean_only_frechet_distance_matches_formula():
    rng = _rng(4)
    real, generated = _correlated(rng, 50, 5), _correlated(rng, 70, 5, shift=0.5)
    value = tfgan_eval.mean_only_frechet_classifier_distance_from_activations(real, generated)
    expected = np.sum((real.mean(0) - generated.mean(0)) ** 2)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10)


def test_diagonal_only_frechet_distance_matches_formula_with_population_variance():
    rng = _rng(5)
    real, generated = _correlated(rng, 50, 5), 2.0 * _correlated(rng, 70, 5, shift=0.5)
    value = tfgan_eval.diagonal_only_frechet_classifier_distance_from_activations(real, generated)
    var_r, var_g = real.var(0), generated.var(0)  # ddof=0, as tf.nn.moments.
    expected = np.sum((real.mean(0) - generated.mean(0)) ** 2) + np.sum(
        var_r + var_g - 2 * np.sqrt(var_r * var_g)
    )
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize(
    "metric",
    [
        tfgan_eval.frechet_classifier_distance_from_activations,
        tfgan_eval.mean_only_frechet_classifier_distance_from_activations,
        tfgan_eval.diagonal_only_frechet_classifier_distance_from_activations,
        tfgan_eval.kernel_classifier_distance_from_activations,
    ],
)
def test_activation_metrics_reject_bad_inputs(metric):
    good = np.ones((10, 4))
    with pytest.raises(ValueError, match="`real_activations` must be a rank-2"):
        metric(np.ones((10, 4, 1)), good)
    with pytest.raises(ValueError, match="`generated_activations` must be a rank-2"):
        metric(good, np.ones(10))
    with pytest.raises(ValueError, match="same feature dimension, got 4 and 3"):
        metric(good, np.ones((10, 3)))
    with pytest.raises(ValueError, match="`real_activations` must have a floating-point"):
        metric(np.ones((10, 4), np.int32), good)

    # Eager inputs always have a batch size; a graph traced without one does not.
    unknown_batch = tf.TensorSpec([None, 4], tf.float64)
    traced = tf.function(metric, input_signature=[unknown_batch, unknown_batch])
    with pytest.raises(ValueError, match=r"statically known first dimension .* got shape \(None, 4\)"):
        traced.get_concrete_function()


def test_frechet_distance_needs_two_samples_per_set():
    with pytest.raises(ValueError, match="`generated_activations` needs at least 2 samples"):
        tfgan_eval.frechet_classifier_distance_from_activations(np.ones((5, 3)), np.ones((1, 3)))


# --- Classifier score ----------------------------------------------------------------


def test_classifier_score_matches_formula():
    logits = 3.0 * _rng(6).standard_normal((64, 10))
    score = tfgan_eval.classifier_score_from_logits(logits)
    assert score.dtype == tf.float64
    np.testing.assert_allclose(score.numpy(), _classifier_score_oracle(logits), rtol=1e-10)


def test_classifier_score_is_one_for_identical_predictions():
    logits = np.tile(_rng(7).standard_normal((1, 5)), (20, 1))
    score = tfgan_eval.classifier_score_from_logits(logits)
    np.testing.assert_allclose(score.numpy(), 1.0, rtol=1e-12)


def test_classifier_score_is_num_classes_for_confident_balanced_predictions():
    num_classes = 7
    logits = 60.0 * np.eye(num_classes)[np.arange(35) % num_classes]
    score = tfgan_eval.classifier_score_from_logits(logits.astype(np.float32))
    assert score.dtype == tf.float32
    np.testing.assert_allclose(score.numpy(), num_classes, rtol=1e-6)


def test_classifier_score_is_finite_when_a_class_probability_underflows():
    """p(y) = exp(-1000) / 2 is 0 in float64; the score is still exp(KL) of the exact p."""
    score = tfgan_eval.classifier_score_from_logits
    np.testing.assert_allclose(score([[1000.0, 0.0], [1000.0, 0.0]]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(score([[800.0, 0.0, 0.0], [0.0, 800.0, 0.0]]), 2.0, rtol=1e-6)


def test_classifier_score_lies_between_one_and_num_classes():
    for seed in range(5):
        logits = 2.0 * _rng(seed).standard_normal((30, 4))
        score = float(tfgan_eval.classifier_score_from_logits(logits))
        assert 1.0 < score < 4.0


def test_classifier_score_rejects_bad_logits():
    with pytest.raises(ValueError, match="`logits` must be a rank-2"):
        tfgan_eval.classifier_score_from_logits(np.ones(10))
    with pytest.raises(ValueError, match="`logits` must have a floating-point"):
        tfgan_eval.classifier_score_from_logits(np.ones((3, 2), np.int64))
    with pytest.raises(ValueError, match="`logits` must contain at least one sample"):
        tfgan_eval.classifier_score_from_logits(np.ones((0, 2)))


# --- Kernel distance ----------------------------------------------------------------


def test_kernel_distance_single_block_matches_unbiased_mmd2():
    rng = _rng(8)
    real, generated = _correlated(rng, 20, 4), _correlated(rng, 15, 4, shift=0.3)
    kid, std = tfgan_eval.kernel_classifier_distance_and_std_from_activations(real, generated)
    np.testing.assert_allclose(kid.numpy(), _mmd2_oracle(real, generated), rtol=1e-10)
    assert np.isnan(std.numpy())  # One block: no spread to estimate.


def test_kernel_distance_averages_blocks_and_reports_standard_error():
    rng = _rng(9)
    real, generated = _correlated(rng, 10, 3), _correlated(rng, 7, 3, shift=0.5)
    # ceil(10 / 4) = 3 blocks of near-equal size, the larger ones last.
    real_blocks = [real[0:3], real[3:6], real[6:10]]
    generated_blocks = [generated[0:2], generated[2:4], generated[4:7]]
    estimates = [_mmd2_oracle(r, g) for r, g in zip(real_blocks, generated_blocks, strict=True)]
    kid, std = tfgan_eval.kernel_classifier_distance_and_std_from_activations(
        real, generated, max_block_size=4
    )
    np.testing.assert_allclose(kid.numpy(), np.mean(estimates), rtol=1e-10)
    np.testing.assert_allclose(std.numpy(), np.std(estimates, ddof=1) / np.sqrt(3), rtol=1e-10)
    kid_only = tfgan_eval.kernel_classifier_distance_from_activations(
        real, generated, max_block_size=4
    )
    np.testing.assert_allclose(kid_only.numpy(), np.mean(estimates), rtol=1e-10)


def test_kernel_distance_dtype_handling():
    real32 = _correlated(_rng(10), 12, 3).astype(np.float32)
    real64 = real32.astype(np.float64)
    assert (
        tfgan_eval.kernel_classifier_distance_from_activations(real32, real32).dtype == tf.float32
    )
    with pytest.raises(ValueError, match="same dtype"):
        tfgan_eval.kernel_classifier_distance_from_activations(real32, real64)
    kid = tfgan_eval.kernel_classifier_distance_from_activations(real32, real64, dtype=tf.float64)
    np.testing.assert_allclose(kid.numpy(), _mmd2_oracle(real64, real64), rtol=1e-10)


def test_kernel_distance_rejects_blocks_smaller_than_two():
    with pytest.raises(ValueError, match="`generated_activations` needs at least 2 samples per"):
        tfgan_eval.kernel_classifier_distance_from_activations(
            np.ones((4, 2)), np.ones((3, 2)), max_block_size=2
        )
    with pytest.raises(ValueError, match="`max_block_size` must be a positive integer"):
        tfgan_eval.kernel_classifier_distance_from_activations(
            np.ones((4, 2)), np.ones((4, 2)), max_block_size=0
        )


# --- Batched classifier evaluation ---------------------------------------------------


def test_run_classifier_in_batches_calls_classifier_per_batch():
    images = _rng(11).standard_normal((10, 2, 2, 1))
    weights = _rng(12).standard_normal((4, 3))
    classify = _linear_classifier(weights)
    batch_sizes = []

    def recording_classifier(batch):
        batch_sizes.append(int(batch.shape[0]))
        return classify(batch)

    outputs = tfgan_eval.run_classifier_in_batches(images, recording_classifier, batch_size=4)
    assert batch_sizes == [4, 4, 2]
    np.testing.assert_allclose(outputs.numpy(), images.reshape(10, 4) @ weights, rtol=1e-12)

    batch_sizes.clear()
    tfgan_eval.run_classifier_fn(images, recording_classifier, num_batches=5)
    assert batch_sizes == [2] * 5


def test_batching_rejects_bad_arguments():
    images = np.zeros((10, 3))
    with pytest.raises(ValueError, match=r"`num_batches` \(3\) must divide the number of images"):
        tfgan_eval.classifier_score(images, tf.identity, num_batches=3)
    with pytest.raises(ValueError, match="`num_batches` must be a positive integer"):
        tfgan_eval.run_classifier_fn(images, tf.identity, num_batches=0)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        tfgan_eval.run_classifier_in_batches(images, tf.identity, batch_size=2.5)
    with pytest.raises(ValueError, match="`images` must have a leading batch axis"):
        tfgan_eval.run_classifier_in_batches(np.float32(1.0), tf.identity, batch_size=1)


def test_classifier_fn_metrics_match_oracles_on_linear_classifier_outputs():
    rng = _rng(13)
    real_images = rng.standard_normal((40, 3, 3, 1))
    generated_images = 0.8 * rng.standard_normal((40, 3, 3, 1)) + 0.2
    weights = rng.standard_normal((9, 5))
    classify = _linear_classifier(weights)
    real_acts = real_images.reshape(40, 9) @ weights
    generated_acts = generated_images.reshape(40, 9) @ weights

    score = tfgan_eval.classifier_score(generated_images, classify, num_batches=4)
    np.testing.assert_allclose(score.numpy(), _classifier_score_oracle(generated_acts), rtol=1e-10)
    fid = tfgan_eval.frechet_classifier_distance(
        real_images, generated_images, classify, num_batches=4
    )
    np.testing.assert_allclose(fid.numpy(), _fid_oracle(real_acts, generated_acts), rtol=1e-6)
    kid, _ = tfgan_eval.kernel_classifier_distance_and_std(
        real_images, generated_images, classify, num_batches=4
    )
    np.testing.assert_allclose(kid.numpy(), _mmd2_oracle(real_acts, generated_acts), rtol=1e-10)


def test_keras_model_classifier_gives_same_metrics_for_any_num_batches():
    import keras

    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(6)]
    )
    rng = _rng(14)
    real = rng.uniform(-1, 1, (24, 4, 4, 1)).astype(np.float32)
    generated = rng.uniform(-1, 1, (24, 4, 4, 1)).astype(np.float32) ** 2

    def metrics(num_batches):
        return [
            tfgan_eval.classifier_score(generated, model, num_batches).numpy(),
            tfgan_eval.frechet_classifier_distance(real, generated, model, num_batches).numpy(),
            tfgan_eval.kernel_classifier_distance(
                real, generated, model, num_batches, max_block_size=12
            ).numpy(),
        ]

    # Batches of 4 and 24 may take other float32 matmul kernels; KID, a difference of
    # kernel means, can be near 0, so its round-off needs an absolute tolerance.
    np.testing.assert_allclose(metrics(6), metrics(1), rtol=1e-5, atol=1e-6)


# --- Sliced Wasserstein distance ------------------------------------------------------


def _noise_and_smooth_images(num_images=32, size=32):
    """Gaussian-noise images, and smooth sinusoid images with random phases."""
    rng = _rng(15)
    noise = rng.standard_normal((num_images, size, size, 3)).astype(np.float32)
    y, x = np.mgrid[0:size, 0:size]
    phase = rng.uniform(0, 2 * np.pi, (num_images, 1, 1, 1))
    smooth = np.sin(0.4 * x[..., None] + phase) + np.cos(0.3 * y[..., None] + phase)
    return noise, np.broadcast_to(smooth, noise.shape).astype(np.float32)


@pytest.mark.parametrize("use_svd", [False, True])
def test_swd_is_small_for_identical_sets_and_large_for_different_sets(use_svd):
    noise, smooth = _noise_and_smooth_images()
    identical = sliced_wasserstein.sliced_wasserstein_distance(
        noise, noise, resolution_min=8, use_svd=use_svd, seed=0
    )
    different = sliced_wasserstein.sliced_wasserstein_distance(
        noise, smooth, resolution_min=8, use_svd=use_svd, seed=0
    )
    for (real_same, fake_same), (real_diff, fake_diff) in zip(identical, different, strict=True):
        # Identical sets differ only by the random patch draw: the noise floor.
        assert fake_same < 0.07 and real_same < 0.07
        assert fake_diff > 4 * real_diff
        assert fake_diff > 4 * fake_same


def test_swd_returns_one_pair_of_scalars_per_pyramid_level():
    noise, smooth = _noise_and_smooth_images(num_images=4)
    for resolution_min, num_levels in [(32, 1), (16, 2), (8, 3), (64, 1)]:
        scores = tfgan_eval.sliced_wasserstein_distance(
            noise, smooth, resolution_min=resolution_min, patches_per_image=8, seed=1
        )
        assert len(scores) == num_levels
        for pair in scores:
            assert len(pair) == 2
            assert all(d.shape == () and d.dtype == tf.float32 for d in pair)
            assert all(np.isfinite(d.numpy()) for d in pair)


def test_swd_is_reproducible_with_a_seed_and_accepts_grayscale():
    images = _rng(16).uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
    images[:, :8] = 0.0  # Constant (MNIST-like background) patches stay finite.
    first = tfgan_eval.sliced_wasserstein_distance(
        images, images[::-1], patches_per_image=16, seed=3
    )
    second = tfgan_eval.sliced_wasserstein_distance(
        images, images[::-1], patches_per_image=16, seed=3
    )
    assert len(first) == 1  # 28 < 2 * 16: a single level.
    np.testing.assert_array_equal(np.array(first), np.array(second))
    assert np.all(np.isfinite(np.array(first)))


def _pyr_down_oracle(image):
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    # scipy's 'mirror' (d c b | a b c d | c b a) is TensorFlow's REFLECT padding.
    return scipy.ndimage.convolve(image, kernel, mode="mirror")[::2, ::2]


def _pyr_up_oracle(image):
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 64.0
    upsampled = np.zeros((2 * image.shape[0], 2 * image.shape[1]))
    upsampled[::2, ::2] = image
    return scipy.ndimage.convolve(upsampled, kernel, mode="mirror")


def test_laplacian_pyramid_matches_scipy_filters():
    image = _rng(17).standard_normal((16, 16))
    levels = sliced_wasserstein.laplacian_pyramid(image[None, :, :, None], num_levels=3)
    gaussian_1 = _pyr_down_oracle(image)
    gaussian_2 = _pyr_down_oracle(gaussian_1)
    expected = [
        image - _pyr_up_oracle(gaussian_1),
        gaussian_1 - _pyr_up_oracle(gaussian_2),
        gaussian_2,
    ]
    assert [level.shape for level in levels] == [(1, 16, 16, 1), (1, 8, 8, 1), (1, 4, 4, 1)]
    for level, want in zip(levels, expected, strict=True):
        np.testing.assert_allclose(level.numpy()[0, :, :, 0], want, atol=1e-5)


def test_laplacian_pyramid_of_constant_image_has_no_detail():
    levels = sliced_wasserstein.laplacian_pyramid(np.full((2, 16, 16, 3), 5.0), num_levels=3)
    np.testing.assert_allclose(levels[0].numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(levels[1].numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(levels[2].numpy(), 5.0, rtol=1e-6)


def test_swd_rejects_bad_inputs():
    swd = tfgan_eval.sliced_wasserstein_distance
    square = np.zeros((2, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="`real_images` must be a rank-4"):
        swd(np.zeros((32, 32, 3)), np.zeros((32, 32, 3)))
    with pytest.raises(ValueError, match="`real_images` must be square"):
        swd(np.zeros((2, 32, 16, 3)), np.zeros((2, 32, 16, 3)))
    with pytest.raises(ValueError, match="`fake_images` must have the shape of `real_images`"):
        swd(square, np.zeros((3, 32, 32, 3)))
    with pytest.raises(ValueError, match="`patch_size` must be odd"):
        swd(square, square, patch_size=6)
    with pytest.raises(ValueError, match="divisible by 8"):
        swd(np.zeros((2, 28, 28, 1)), np.zeros((2, 28, 28, 1)), resolution_min=2)
    with pytest.raises(ValueError, match="coarsest level must be at least `patch_size`"):
        swd(square, square, resolution_min=4)
    with pytest.raises(ValueError, match="`patches_per_image` must be a positive integer"):
        swd(square, square, patches_per_image=0)


# --- Image grids --------------------------------------------------------------------------


def test_image_grid_places_image_i_at_row_i_div_width_and_column_i_mod_width():
    height, width, channels = 4, 5, 3
    images = np.arange(6 * height * width * channels, dtype=np.float32).reshape(
        6, height, width, channels
    )
    grid = tfgan_eval.image_grid(images, (2, 3), image_shape=(height, width), num_channels=3)
    assert grid.shape == (1, 2 * height, 3 * width, channels)
    grid = grid.numpy()[0]
    for i in range(6):
        row, col = divmod(i, 3)
        np.testing.assert_array_equal(
            grid[row * height : (row + 1) * height, col * width : (col + 1) * width], images[i]
        )
    # Pixel (1, 2) of image 4 (grid row 1, column 1).
    np.testing.assert_array_equal(grid[height + 1, width + 2], images[4, 1, 2])
    flat_grid = tfgan_eval.image_grid(images.reshape(6, -1), (2, 3), (height, width), 3)
    np.testing.assert_array_equal(flat_grid.numpy()[0], grid)


def test_image_grid_rejects_mismatched_shapes():
    images = np.zeros((6, 4, 4, 1))
    with pytest.raises(ValueError, match=r"`grid_shape` \(2, 2\) needs 4 images"):
        tfgan_eval.image_grid(images, (2, 2), (4, 4), 1)
    with pytest.raises(ValueError, match="do not match `image_shape`"):
        tfgan_eval.image_grid(images, (2, 3), (4, 4), 3)
    with pytest.raises(ValueError, match="do not match `image_shape`"):
        tfgan_eval.image_grid(np.zeros((6, 17)), (2, 3), (4, 4), 1)
    with pytest.raises(ValueError, match="`input_tensor` must be rank 4"):
        tfgan_eval.image_grid(np.zeros((6, 4, 4)), (2, 3), (4, 4), 1)


def test_image_reshaper_tiles_nearly_square_and_pads_with_zeros():
    images = 1.0 + np.arange(5 * 2 * 2, dtype=np.float32).reshape(5, 2, 2, 1)
    tiled = tfgan_eval.image_reshaper(tf.constant(images))
    assert tiled.shape == (1, 4, 6, 1)  # ceil(sqrt(5)) = 3 columns, 2 rows.
    tiled = tiled.numpy()[0]
    np.testing.assert_array_equal(tiled[2:4, 2:4], images[4])  # Image 4: row 1, column 1.
    np.testing.assert_array_equal(tiled[2:4, 4:6], 0.0)  # Empty cell.
    from_list = tfgan_eval.image_reshaper([tf.constant(image) for image in images])
    np.testing.assert_array_equal(from_list.numpy()[0], tiled)
    two_columns = tfgan_eval.image_reshaper(tf.constant(images), num_cols=2)
    assert two_columns.shape == (1, 6, 4, 1)
    np.testing.assert_array_equal(two_columns.numpy()[0, 4:6, 0:2], images[4])


def test_image_reshaper_rejects_bad_images():
    with pytest.raises(ValueError, match="1 or 3 channels, got 2"):
        tfgan_eval.image_reshaper(tf.zeros((4, 2, 2, 2)))
    with pytest.raises(ValueError, match="`images` must be"):
        tfgan_eval.image_reshaper(tf.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="`num_cols` must be a positive integer"):
        tfgan_eval.image_reshaper(tf.zeros((4, 2, 2, 1)), num_cols=0)
