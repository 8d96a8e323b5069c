"""Vanishing gradients: the minimax GAN loss against the Wasserstein loss, on disjoint supports.

The real data and the generator's samples lie on two parallel lines (Arjovsky
et al., "Wasserstein GAN", https://arxiv.org/abs/1701.07875, Example 1):
real x = (0, z) and generated G(z) = (theta, z), z ~ U[0, 1], so the generator
has one parameter, theta. The supports are disjoint for every theta != 0, where
JS = log 2 whatever theta is, while W1 = |theta|
(`tfgan_losses.divergences` computes both, exactly, in the table).

For each theta the script

1. trains a discriminator (a small MLP giving logits) with
   `minimax_discriminator_loss` (no label smoothing; Adam) until it is nearly
   optimal, i.e. it tells the lines apart with certainty;
2. trains a critic (the same MLP) with `wasserstein_discriminator_loss`, clipping
   every weight to [-c, c] after each update, c = 0.01 as in WGAN (Algorithm 1,
   also its RMSProp learning rate 5e-5);
3. measures the generator's gradient d(loss_G)/d(theta) with `tf.GradientTape`,
   for the saturating `minimax_generator_loss` (log(1 - D(G(z))) plus a
   constant) against the discriminator and for `wasserstein_generator_loss`
   (-f(G(z))) against the critic, during and after training.

Expected: the minimax gradient collapses toward 0 as the discriminator becomes
optimal (its loss saturates: Arjovsky & Bottou, "Towards Principled Methods for
Training GANs", https://arxiv.org/abs/1701.04862, Theorem 2.4), while the
Wasserstein gradient stays bounded away from 0 and of the same order for every
theta. For an optimal critic it would be K * dW1/dtheta = K, K being the
Lipschitz constant that clipping allows (so its scale depends on c and the
architecture, not on theta); a clipped ReLU critic is only piecewise linear,
and its slope at the generated line varies with theta by a small factor. The
critic's gap E f(real) - E f(generated) grows with W1 = theta, as an estimate of
K * W1 should.

Run it (about a minute on 2 CPU cores) from the repository root:

    python examples/vanishing_gradients.py --output_dir out/vanishing_gradients

It prints the environment and a table, and writes `vanishing_gradients.png`
(and the table as `results.txt`) to `--output_dir`.
"""

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # Run as a script from a checkout, not installed.
    sys.path.insert(0, REPO_ROOT)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_losses import (  # noqa: E402
    minimax_discriminator_loss, minimax_generator_loss, wasserstein_discriminator_loss,
    wasserstein_generator_loss)
from tfgan_losses import divergences  # noqa: E402
from tfgan_losses.environment import describe  # noqa: E402

DEFAULT_THETAS = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclasses.dataclass
class ThetaResult:
    """What one theta gives: exact divergences and the measured gradients.

    Attributes:
      theta: Offset of the generated line.
      js: Exact JS divergence of the two lines (log 2 for theta != 0).
      w1: Exact Wasserstein-1 distance of the two lines (|theta|).
      steps: Training steps at which the gradients were measured.
      minimax_gradients: |d minimax_generator_loss / d theta| at those steps.
      wasserstein_gradients: |d wasserstein_generator_loss / d theta| at those steps.
      d_real: Mean D(x) on real data after training (1 is certain).
      d_gen: Mean D(G(z)) on generated data after training (0 is certain).
      critic_gap: E f(real) - E f(generated) after training, the critic's
        estimate of K * W1.
    """

    theta: float
    js: float
    w1: float
    steps: list
    minimax_gradients: list
    wasserstein_gradients: list
    d_real: float
    d_gen: float
    critic_gap: float


def parallel_lines_histograms(theta, num_points=11):
    """The two lines on a grid: histograms of shape (2, num_points) and their (x, y) points."""
    ys = np.linspace(0.0, 1.0, num_points)
    support = np.stack(np.meshgrid([0.0, theta], ys, indexing="ij"), axis=-1)
    real, generated = np.zeros((2, num_points)), np.zeros((2, num_points))
    real[0], generated[1] = 1.0 / num_points, 1.0 / num_points
    return real, generated, support


def generate(theta, z):
    """The generator G(z) = (theta, z): a batch of points on the line x = theta."""
    return tf.concat([theta * tf.ones_like(z), z], axis=1)


def build_mlp(width=64):
    """A small ReLU MLP from 2-D points to one unbounded output (a logit or a score)."""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(1),
    ])


def make_train_step(model, optimizer, discriminator_loss, clip_value=None):
    """A compiled step: one update of `model` on a batch, then optional weight clipping."""

    @tf.function
    def train_step(theta, z_real, z_gen):
        with tf.GradientTape() as tape:
            real_outputs = model(generate(0.0, z_real), training=True)
            gen_outputs = model(generate(theta, z_gen), training=True)
            loss = discriminator_loss(real_outputs, gen_outputs)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if clip_value is not None:
            for variable in model.trainable_variables:
                variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))
        return loss

    return train_step


def make_generator_gradient(model, generator_loss):
    """A compiled |d generator_loss(model(G(z))) / d theta| at a given theta."""

    @tf.function
    def generator_gradient(theta, z):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss = generator_loss(model(generate(theta, z)))
        return tf.abs(tape.gradient(loss, theta))

    return generator_gradient


def run_theta(theta, steps, batch_size, clip_value, seed, log_every, d_learning_rate,
              critic_learning_rate, eval_size=1024):
    """Trains a discriminator and a critic against one theta; see `ThetaResult`.

    Args:
      theta: Offset of the generated line, > 0.
      steps: Training steps of the discriminator and of the critic (one each per step).
      batch_size: Real and generated points per step.
      clip_value: The critic's weights are clipped to [-clip_value, clip_value].
      seed: Seed of the initial weights and of every sample.
      log_every: The gradients are measured every this many steps, and at the end.
      d_learning_rate: Adam learning rate of the discriminator.
      critic_learning_rate: RMSProp learning rate of the critic.
      eval_size: Generated points over which the gradients are averaged.

    Returns:
      A `ThetaResult`.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    discriminator, critic = build_mlp(), build_mlp()
    for variable in critic.trainable_variables:  # Start inside the clipping box.
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))
    train_discriminator = make_train_step(
        discriminator, keras.optimizers.Adam(d_learning_rate),
        lambda real, gen: minimax_discriminator_loss(real, gen, label_smoothing=0.0))
    train_critic = make_train_step(
        critic, keras.optimizers.RMSprop(critic_learning_rate), wasserstein_discriminator_loss,
        clip_value)
    minimax_gradient = make_generator_gradient(
        discriminator, lambda outputs: minimax_generator_loss(outputs, label_smoothing=0.0))
    wasserstein_gradient = make_generator_gradient(critic, wasserstein_generator_loss)

    theta_t = tf.constant(theta, tf.float32)
    z_eval = tf.constant(rng.uniform(size=(eval_size, 1)), tf.float32)
    logged_steps, minimax_grads, wasserstein_grads = [], [], []
    for step in range(steps + 1):
        if step % log_every == 0 or step == steps:
            logged_steps.append(step)
            minimax_grads.append(float(minimax_gradient(theta_t, z_eval)))
            wasserstein_grads.append(float(wasserstein_gradient(theta_t, z_eval)))
        if step == steps:
            break
        z_real, z_gen = (tf.constant(rng.uniform(size=(batch_size, 1)), tf.float32)
                         for _ in range(2))
        train_discriminator(theta_t, z_real, z_gen)
        train_critic(theta_t, z_real, z_gen)

    real_points, gen_points = generate(0.0, z_eval), generate(theta_t, z_eval)
    real_hist, gen_hist, support = parallel_lines_histograms(theta)
    return ThetaResult(
        theta=theta,
        js=divergences.js_divergence(real_hist, gen_hist),
        w1=divergences.wasserstein_1(real_hist, gen_hist, support=support),
        steps=logged_steps,
        minimax_gradients=minimax_grads,
        wasserstein_gradients=wasserstein_grads,
        d_real=float(tf.reduce_mean(tf.sigmoid(discriminator(real_points)))),
        d_gen=float(tf.reduce_mean(tf.sigmoid(discriminator(gen_points)))),
        critic_gap=float(tf.reduce_mean(critic(real_points)) - tf.reduce_mean(critic(gen_points))))


def run_experiment(thetas=DEFAULT_THETAS, steps=3000, batch_size=64, clip_value=0.01, seed=0,
                   log_every=100, d_learning_rate=5e-3, critic_learning_rate=5e-5):
    """Runs `run_theta` for every theta (each > 0), with the same seed each."""
    if any(theta <= 0 for theta in thetas):
        raise ValueError(f"Every theta must be > 0, so that the lines are disjoint; got {thetas}.")
    return [run_theta(float(theta), steps, batch_size, clip_value, seed, log_every,
                      d_learning_rate, critic_learning_rate)
            for theta in thetas]


def format_table(results):
    """The results as a fixed-width text table, one row per theta."""
    header = (f"{'theta':>6} {'JS':>7} {'W1':>6} {'D(real)':>9} {'D(gen)':>9} "
              f"{'minimax grad':>13} {'(at step 0)':>12} "
              f"{'critic gap':>11} {'gap/W1':>8} {'WGAN grad':>10}")
    rows = ["grad = |d loss_G / d theta| after training (minimax: also before); "
            "critic gap = E f(real) - E f(gen)",
            header, "-" * len(header)]
    for r in results:
        rows.append(
            f"{r.theta:6.2f} {r.js:7.4f} {r.w1:6.2f} {r.d_real:9.6f} {r.d_gen:9.2e} "
            f"{r.minimax_gradients[-1]:13.3e} {r.minimax_gradients[0]:12.3e} "
            f"{r.critic_gap:11.3e} {r.critic_gap / r.w1:8.2e} {r.wasserstein_gradients[-1]:10.3e}")
    return "\n".join(rows)


def save_plot(results, path):
    """Plots final gradients against theta, and gradients along training; saves a PNG."""
    import matplotlib  # Deferred: only the plot needs it (the `bench` extra).
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    thetas = [r.theta for r in results]
    left.semilogy(thetas, [r.minimax_gradients[-1] for r in results], "o-",
                  label="minimax (saturating) generator loss")
    left.semilogy(thetas, [r.wasserstein_gradients[-1] for r in results], "s-",
                  label="Wasserstein generator loss, clipped critic")
    left.set_xlabel("theta (distance between the lines = W1)")
    left.set_ylabel("|d loss_G / d theta| after training D")
    left.set_title("Generator gradient against a trained discriminator")
    left.legend()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r, color in zip(results, colors):
        right.semilogy(r.steps, r.minimax_gradients, "-", color=color, label=f"theta={r.theta:g}")
        right.semilogy(r.steps, r.wasserstein_gradients, "--", color=color)
    right.set_xlabel("discriminator / critic training steps")
    right.set_ylabel("|d loss_G / d theta|")
    right.set_title("Along training: minimax (solid), Wasserstein (dashed)")
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    """The command-line flags; `argv` defaults to `sys.argv[1:]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output_dir", default="out/vanishing_gradients",
                        help="Folder for the PNG plot and the text table.")
    parser.add_argument("--thetas", type=float, nargs="+", default=list(DEFAULT_THETAS),
                        help="Offsets of the generated line.")
    parser.add_argument("--steps", type=int, default=3000,
                        help="Discriminator and critic training steps per theta.")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--clip_value", type=float, default=0.01,
                        help="Critic weights are clipped to [-c, c] (WGAN: 0.01).")
    parser.add_argument("--d_learning_rate", type=float, default=5e-3,
                        help="Adam learning rate of the minimax discriminator.")
    parser.add_argument("--critic_learning_rate", type=float, default=5e-5,
                        help="RMSProp learning rate of the critic (WGAN: 5e-5).")
    parser.add_argument("--log_every", type=int, default=100,
                        help="Measure the gradients every this many steps.")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(describe())
    start = time.perf_counter()
    results = run_experiment(args.thetas, args.steps, args.batch_size, args.clip_value,
                             args.seed, args.log_every, args.d_learning_rate,
                             args.critic_learning_rate)
    table = format_table(results)
    print(f"\n{args.steps} steps per theta, critic clipped to [-{args.clip_value:g}, "
          f"{args.clip_value:g}], seed {args.seed}: {time.perf_counter() - start:.1f} s\n")
    print(table)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "results.txt"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    plot_path = os.path.join(args.output_dir, "vanishing_gradients.png")
    save_plot(results, plot_path)
    print(f"\nWrote {plot_path}")


if __name__ == "__main__":
    main()
