"""Tests for FusedAdam: the Adam update, in one TensorFlow kernel, against numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_losses import FusedAdam, GANModel

LEARNING_RATE, BETA_1, BETA_2, EPSILON = 0.01, 0.5, 0.999, 1e-7


def _gradients(steps=4, shape=(3, 2)):
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape).astype(np.float32) for _ in range(steps)]


def _numpy_adam(weights, gradients):
    m, v = np.zeros_like(weights, np.float64), np.zeros_like(weights, np.float64)
    weights = weights.astype(np.float64)
    for t, gradient in enumerate(gradients, start=1):
        m += (1 - BETA_1) * (gradient - m)
        v += (1 - BETA_2) * (gradient**2 - v)
        alpha = LEARNING_RATE * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        weights = weights - alpha * m / (np.sqrt(v) + EPSILON)
    return weights


def _train(optimizer, gradients, mode="eager"):
    initial = np.arange(6, dtype=np.float32).reshape(3, 2) / 6
    variable = keras.Variable(initial)
    optimizer.build([variable])

    def apply(gradient):
        optimizer.apply_gradients([(gradient, variable)])

    if mode != "eager":
        apply = tf.function(apply, jit_compile=mode == "xla")
    for gradient in gradients:
        apply(tf.constant(gradient))
    return initial, variable.numpy()


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_matches_the_numpy_adam_recurrence(mode):
    gradients = _gradients()
    initial, trained = _train(FusedAdam(LEARNING_RATE, beta_1=BETA_1), gradients, mode)
    np.testing.assert_allclose(trained, _numpy_adam(initial, gradients), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1},
                                     {"clipnorm": 0.5}])
def test_matches_keras_adam(options):
    gradients = _gradients()
    _, fused = _train(FusedAdam(LEARNING_RATE, beta_1=BETA_1, **options), gradients)
    _, reference = _train(keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, **options),
                          gradients)
    np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=1e-6)


def test_under_loss_scaling_updates_with_the_unscaled_gradient():
    gradients = _gradients(steps=2)
    optimizer = keras.optimizers.LossScaleOptimizer(FusedAdam(LEARNING_RATE, beta_1=BETA_1),
                                                    initial_scale=1024.0)
    initial, trained = _train(optimizer, [1024.0 * g for g in gradients], "graph")
    np.testing.assert_allclose(trained, _numpy_adam(initial, gradients), rtol=1e-5, atol=1e-6)


def test_is_gan_models_default_and_survives_saving(tmp_path):
    noise = keras.Input((2,))
    generator = keras.Model(noise, keras.layers.Dense(3)(noise))
    samples = keras.Input((3,))
    discriminator = keras.Model(samples, keras.layers.Dense(1)(samples))
    gan = GANModel(generator, discriminator)
    gan.compile()
    gan.fit(np.ones((8, 3), np.float32), batch_size=4, epochs=1, verbose=0)
    gan.save(tmp_path / "gan.keras")

    loaded = keras.models.load_model(tmp_path / "gan.keras")

    for original, restored in ((gan.generator_optimizer, loaded.generator_optimizer),
                               (gan.discriminator_optimizer, loaded.discriminator_optimizer)):
        assert type(original) is FusedAdam and type(restored) is FusedAdam
        assert restored.get_config() == original.get_config()
        for slot, restored_slot in zip(original.variables, restored.variables):
            np.testing.assert_array_equal(restored_slot.numpy(), slot.numpy())


def test_updates_with_one_fused_kernel_per_variable():
    variables = [keras.Variable(np.zeros((3, 2), np.float32)), keras.Variable(np.zeros(2))]
    optimizer = FusedAdam()
    optimizer.build(variables)
    gradients = [tf.ones((3, 2)), tf.ones(2)]
    graph = tf.function(lambda: optimizer.apply_gradients(zip(gradients, variables))
                        ).get_concrete_function().graph
    fused = [op for op in graph.get_operations() if op.type == "ResourceApplyAdam"]
    assert len(fused) == 2
