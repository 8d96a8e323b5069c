"""Mode coverage on the ring of 8 Gaussians: minimax, modified, WGAN (clipping) and WGAN-GP.

The real data is the classic 2-D toy of the Unrolled-GAN and VEEGAN papers
(Metz et al., https://arxiv.org/abs/1611.02163; Srivastava et al.,
https://arxiv.org/abs/1705.07761): an equal mixture of 8 Gaussians whose
centres lie evenly on a circle of radius 2, each with standard deviation
`--std` (those papers use 0.02; the default here is 0.05, slightly wider, so
that the few thousand steps a CPU affords in minutes can reach the modes; pass
`--std 0.02` for the papers' setting).

Every configuration trains the same small MLPs (generator: `--noise_dims`
Gaussian noise -> 3 x 128 ReLU -> 2-D point; discriminator: 3 x 128 ReLU ->
one logit / score) with `tfgan_losses.GANModel` and `model.fit`, for
`--steps` train steps (one train step = `discriminator_steps` discriminator
updates, each on its own slice of a batch of
`discriminator_steps * --batch_size` real points, then one generator update;
so every configuration gets the same number of generator updates):

* `minimax`: `minimax_generator_loss` (the saturating log(1 - D(G(z)))) and
  `minimax_discriminator_loss` with `label_smoothing=0.0` (NOT TF-GAN's
  default 0.25, so that this is the plain GAN of Goodfellow et al.);
  Adam(1e-3, beta_1=0.5) for both networks, one discriminator step.
* `modified`: `modified_generator_loss` (non-saturating -log D(G(z))) and
  `modified_discriminator_loss(label_smoothing=0.0)`; same optimizers.
* `wgan_clip`: `wasserstein_*` losses, `ClipWeights(0.01)` (the critic is
  clipped after every update), RMSprop(5e-5) for both networks and 5 critic
  steps per generator step: WGAN's Algorithm 1 defaults, untuned.
* `wgan_gp`: `wasserstein_*` losses, `gradient_penalty_weight=10`,
  Adam(1e-4, beta_1=0.5, beta_2=0.9) for both networks and 5 critic steps:
  WGAN-GP's Algorithm 1 defaults.

After training, `--eval_samples` points are drawn from the generator
(`training=False`) and scored against the 8 centres:

* a sample is *high quality* if it lies within `--num_std` (3) standard
  deviations of its nearest centre, i.e. closer than 3 * std;
* a mode is *covered* if at least `--min_count` (20) high-quality samples
  belong to it (with 2,500 samples a perfect generator puts ~310 in each, so
  20 is ~6% of a mode's share: a mode hit by a few stray points is not counted).

What it shows. Measured with the defaults (2,500 steps, seeds 0-2; TF 2.21,
Keras 3.15, 2 shared AMD EPYC cores), modes covered per seed / high-quality
fraction (mean):

    minimax     8 8 8 / 0.84   all modes, but seed 0's clusters sit off-centre
    modified    6 8 7 / 0.83   seeds 0 and 2 miss 2 and 1 modes
    wgan_clip   0 1 0 / 0.01   not converged (seed 0: a diffuse cloud)
    wgan_gp     4 0 0 / 0.03   not converged (seed 0: a blurred ring)

So in this short run it is NOT the textbook picture of minimax collapsing and
the Wasserstein losses covering everything: with Adam(1e-3) both GAN losses
reach (nearly) all 8 modes, the non-saturating one missing one or two for some
seeds; the Wasserstein configurations, at their papers' much smaller learning
rates, have not converged in 2,500 generator steps. For WGAN-GP the learning
rate is what decides this budget: `--gp_learning_rate 1e-3` gives 8 8 8 modes /
0.79 high quality. WGAN with clipping stays a diffuse cloud when tuned too
(`--clip_learning_rate 1e-3`: 0 0 1 / 0.03; `--clip_value 0.1
--clip_learning_rate 1e-4`: 0 1 0 / 0.03), its known weakness. Results vary
with the seed; run more seeds and steps before drawing conclusions, and read
these numbers as "what a short CPU run does", not as the methods' asymptotic
quality (the papers trained for far longer).

Run it from the repository root (the defaults: 12 runs, about 3.5 CPU-minutes;
7 minutes of wall-clock on 2 cores shared with other jobs):

    python examples/mode_coverage.py --output_dir out/mode_coverage
    python examples/mode_coverage.py --configs wgan_gp --gp_learning_rate 1e-3
    python examples/mode_coverage.py --std 0.02 --steps 10000 --seeds 0 1 2 3 4  # ~25 CPU-min

It prints the environment and a table, and writes to `--output_dir`:
`samples.png` (the first seed's samples per configuration, against the mode
centres), `results.csv` (one row per run), `results.md` (the summary table)
and `results.txt` (the printed table).
"""

import argparse
import csv
import dataclasses
import math
import os
import sys
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # Run as a script from a checkout, not installed.
    sys.path.insert(0, REPO_ROOT)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfgan_losses  # noqa: E402
from tfgan_losses import ClipWeights, GANModel  # noqa: E402
from tfgan_losses.environment import describe  # noqa: E402

NUM_MODES = 8
RADIUS = 2.0
DEFAULT_STD = 0.05
DEFAULT_SEEDS = (0, 1, 2)


# --------------------------------------------------------------------------- data and metrics
def ring_centers(num_modes=NUM_MODES, radius=RADIUS):
    """The mode centres, shape [num_modes, 2]: evenly spaced on a circle, the first at (r, 0)."""
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_ring(num_samples, std=DEFAULT_STD, seed=0, num_modes=NUM_MODES, radius=RADIUS):
    """`num_samples` points of the mixture (numpy, float32), each mode chosen uniformly."""
    rng = np.random.default_rng(seed)
    modes = rng.integers(num_modes, size=num_samples)
    points = ring_centers(num_modes, radius)[modes] + std * rng.standard_normal((num_samples, 2))
    return points.astype(np.float32)


def real_dataset(batch_size, std, seed, num_modes=NUM_MODES, radius=RADIUS):
    """An endless `tf.data.Dataset` of real batches [batch_size, 2], deterministic in `seed`.

    Batch i is drawn with stateless random ops seeded by (seed, i), so the data
    does not depend on the global random state or on threading.
    """
    centers = tf.constant(ring_centers(num_modes, radius), tf.float32)

    def make_batch(index):
        mode_seed = tf.stack([tf.constant(seed, tf.int64), 2 * index])
        noise_seed = tf.stack([tf.constant(seed, tf.int64), 2 * index + 1])
        modes = tf.random.stateless_uniform(
            [batch_size], seed=mode_seed, maxval=num_modes, dtype=tf.int32)
        noise = tf.random.stateless_normal([batch_size, 2], seed=noise_seed, stddev=std)
        return tf.gather(centers, modes) + noise

    return tf.data.Dataset.counter().map(make_batch).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class ModeMetrics:
    """Mode-coverage metrics of a set of samples.

    Attributes:
      modes_covered: Number of modes with at least `min_count` high-quality samples.
      high_quality_fraction: Fraction of all samples within `num_std * std`
        of their nearest centre.
      counts: High-quality samples per mode, a list of `num_modes` ints.
    """

    modes_covered: int
    high_quality_fraction: float
    counts: list


def mode_metrics(samples, centers=None, std=DEFAULT_STD, num_std=3.0, min_count=20):
    """Scores `samples` [n, 2] against the mode `centers` [k, 2]; see `ModeMetrics`.

    A sample is high quality if its distance to the nearest centre is below
    `num_std * std`; it then belongs to that centre's mode. A mode is covered
    if at least `min_count` high-quality samples belong to it. Non-finite
    samples count as low quality (a NaN distance is never below the bound).
    """
    centers = ring_centers() if centers is None else np.asarray(centers, np.float64)
    samples = np.asarray(samples, np.float64).reshape(-1, 2)
    if len(samples) == 0:
        raise ValueError("`samples` is empty.")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = np.argmin(distances, axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] < num_std * std
    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    return ModeMetrics(modes_covered=int(np.sum(counts >= min_count)),
                       high_quality_fraction=float(np.mean(high_quality)),
                       counts=[int(c) for c in counts])


# --------------------------------------------------------------------------- models and configs
def build_generator(noise_dims, width=128, depth=3):
    """Noise [batch, noise_dims] -> `depth` x `width` ReLU -> a 2-D point (linear output)."""
    layers = [keras.Input(shape=(noise_dims,))]
    layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
    layers.append(keras.layers.Dense(2))
    return keras.Sequential(layers, name="generator")


def build_discriminator(width=128, depth=3):
    """A 2-D point -> `depth` x `width` ReLU -> one unbounded logit / critic score."""
    layers = [keras.Input(shape=(2,))]
    layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="discriminator")


@dataclasses.dataclass
class Config:
    """One GAN configuration: losses, optimizers, critic steps and Lipschitz constraint."""

    name: str
    description: str
    generator_loss: object  # A TF-GAN loss name or a `GANLoss`, as `GANModel.compile` takes.
    discriminator_loss: object
    make_generator_optimizer: object  # Callable returning a fresh optimizer.
    make_discriminator_optimizer: object
    discriminator_steps: int = 1
    clip_value: float = None
    gradient_penalty_weight: float = None


def _adam(learning_rate, beta_2=0.999):
    return lambda: keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=beta_2)


def _rmsprop(learning_rate):
    return lambda: keras.optimizers.RMSprop(learning_rate)


def make_configs(gan_learning_rate=1e-3, clip_learning_rate=5e-5, clip_value=0.01,
                 gp_learning_rate=1e-4):
    """The four configurations, by name; the defaults are those described at the top."""
    lr = lambda value: f"{value:g}"
    return {
        "minimax": Config(
            "minimax",
            f"minimax G + D (label_smoothing=0), Adam({lr(gan_learning_rate)}, b1=0.5), "
            "1 D step",
            "minimax_generator_loss",
            tfgan_losses.MinimaxDiscriminatorLoss(label_smoothing=0.0),
            _adam(gan_learning_rate), _adam(gan_learning_rate)),
        "modified": Config(
            "modified",
            f"modified G + D (label_smoothing=0), Adam({lr(gan_learning_rate)}, b1=0.5), "
            "1 D step",
            "modified_generator_loss",
            tfgan_losses.ModifiedDiscriminatorLoss(label_smoothing=0.0),
            _adam(gan_learning_rate), _adam(gan_learning_rate)),
        "wgan_clip": Config(
            "wgan_clip",
            f"Wasserstein, ClipWeights({clip_value:g}), RMSprop({lr(clip_learning_rate)}), "
            "5 critic steps",
            "wasserstein_generator_loss", "wasserstein_discriminator_loss",
            _rmsprop(clip_learning_rate), _rmsprop(clip_learning_rate),
            discriminator_steps=5, clip_value=clip_value),
        "wgan_gp": Config(
            "wgan_gp",
            f"Wasserstein + GP(10), Adam({lr(gp_learning_rate)}, b1=0.5, b2=0.9), "
            "5 critic steps",
            "wasserstein_generator_loss", "wasserstein_discriminator_loss",
            _adam(gp_learning_rate, beta_2=0.9), _adam(gp_learning_rate, beta_2=0.9),
            discriminator_steps=5, gradient_penalty_weight=10.0),
    }


CONFIGS = make_configs()


@dataclasses.dataclass
class RunResult:
    """One trained GAN: configuration, seed, metrics, samples, timings, update counts.

    `seconds` covers building, compiling (tracing), training and sampling;
    `cpu_seconds` is this process's CPU time over the same span (all threads),
    a steadier measure than wall-clock on a shared machine.
    """

    config: str
    seed: int
    steps: int
    metrics: ModeMetrics
    samples: np.ndarray
    seconds: float
    cpu_seconds: float
    final_logs: dict
    generator_updates: int
    discriminator_updates: int


def train_and_evaluate(config, seed, steps=2500, batch_size=256, noise_dims=8, std=DEFAULT_STD,
                       eval_samples=2500, num_std=3.0, min_count=20, steps_per_execution=50):
    """Trains one GAN with `model.fit` and scores its samples; returns a `RunResult`.

    Args:
      config: A `Config` or the name of one in `CONFIGS`.
      seed: Seeds the weights (`keras.utils.set_random_seed`), the model's
        noise, the real data and the evaluation noise.
      steps: Train steps, i.e. generator updates (each after
        `config.discriminator_steps` discriminator updates).
      batch_size: Points per discriminator (and generator) update.
      noise_dims: Size of the generator's Gaussian noise.
      std: Standard deviation of each mode.
      eval_samples: Generated points scored after training.
      num_std, min_count: The metric's rule, see `mode_metrics`.
      steps_per_execution: Train steps per call of the compiled train function
        (Keras's `steps_per_execution`; it only cuts Python overhead); the
        greatest common divisor with `steps` is used, so exactly `steps` run.
    """
    config = CONFIGS[config] if isinstance(config, str) else config
    start, cpu_start = time.perf_counter(), time.process_time()
    keras.utils.set_random_seed(seed)
    gan = GANModel(build_generator(noise_dims), build_discriminator(),
                   discriminator_steps=config.discriminator_steps, seed=seed)
    gan.compile(generator_optimizer=config.make_generator_optimizer(),
                discriminator_optimizer=config.make_discriminator_optimizer(),
                generator_loss=config.generator_loss,
                discriminator_loss=config.discriminator_loss,
                gradient_penalty_weight=config.gradient_penalty_weight,
                # A divisor of `steps`: Keras runs whole executions, so 25 steps at
                # 10 per execution would train 30.
                steps_per_execution=math.gcd(steps, max(1, steps_per_execution)))
    callbacks = [tfgan_losses.TerminateOnNonFinite()]
    if config.clip_value is not None:
        # Start inside the clipping box, as WGAN's critic always is after an update.
        for variable in gan.discriminator.trainable_variables:
            variable.assign(tf.clip_by_value(variable, -config.clip_value, config.clip_value))
        callbacks.append(ClipWeights(config.clip_value))
    dataset = real_dataset(config.discriminator_steps * batch_size, std, seed)
    history = gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=callbacks,
                      shuffle=False)
    noise = np.random.default_rng([seed, 1]).standard_normal((eval_samples, noise_dims))
    samples = np.asarray(gan.generator(noise.astype(np.float32), training=False))
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return RunResult(
        config=config.name, seed=seed, steps=steps,
        metrics=mode_metrics(samples, std=std, num_std=num_std, min_count=min_count),
        samples=samples, seconds=seconds, cpu_seconds=cpu_seconds,
        final_logs={key: float(values[-1]) for key, values in history.history.items()},
        generator_updates=int(gan.generator_optimizer.iterations.numpy()),
        discriminator_updates=int(gan.discriminator_optimizer.iterations.numpy()))


def run_experiment(configs=tuple(CONFIGS), seeds=DEFAULT_SEEDS, log=print, **kwargs):
    """`train_and_evaluate` for every configuration (a name or `Config`) and seed.

    Returns the `RunResult`s, configuration-major.
    """
    results = []
    for config in configs:
        name = config if isinstance(config, str) else config.name
        for seed in seeds:
            result = train_and_evaluate(config, seed, **kwargs)
            results.append(result)
            if log:
                m = result.metrics
                log(f"  {name:<10} seed {seed}: {m.modes_covered} modes, "
                    f"high quality {m.high_quality_fraction:.3f}, {result.seconds:.1f} s "
                    f"({result.cpu_seconds:.1f} s CPU), "
                    f"counts {m.counts}")
    return results


# --------------------------------------------------------------------------- reporting
def summarize(results):
    """One summary row (a dict) per configuration, in first-seen order."""
    rows = []
    for name in dict.fromkeys(r.config for r in results):
        runs = [r for r in results if r.config == name]
        modes = np.array([r.metrics.modes_covered for r in runs], float)
        quality = np.array([r.metrics.high_quality_fraction for r in runs])
        seconds = np.array([r.seconds for r in runs])
        cpu_seconds = np.array([r.cpu_seconds for r in runs])
        rows.append({
            "config": name,
            "seeds": " ".join(str(r.seed) for r in runs),
            "steps": runs[0].steps,
            "modes": f"{modes.mean():.2f} ± {modes.std():.2f}",
            "modes per seed": " ".join(str(r.metrics.modes_covered) for r in runs),
            "high quality": f"{quality.mean():.3f} ± {quality.std():.3f}",
            "high quality per seed": " ".join(f"{q:.3f}" for q in quality),
            "wall s / run": f"{seconds.mean():.1f}",
            "CPU s / run": f"{cpu_seconds.mean():.1f}",
        })
    return rows


def format_table(rows):
    """The summary rows as a fixed-width text table."""
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(row[k])) for row in rows)) for k in keys}
    line = lambda values: "  ".join(f"{str(v):<{widths[k]}}" for k, v in zip(keys, values))
    header = line(keys)
    return "\n".join([header, "-" * len(header)] + [line(row.values()) for row in rows])


def format_markdown(rows):
    """The summary rows as a Markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(results, path):
    """One row per run: configuration, seed, steps, metrics, counts per mode, seconds."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["config", "seed", "steps", "modes_covered", "high_quality_fraction",
                         "seconds", "cpu_seconds"] + [f"mode_{i}_count" for i in range(NUM_MODES)])
        for r in results:
            writer.writerow([r.config, r.seed, r.steps, r.metrics.modes_covered,
                             f"{r.metrics.high_quality_fraction:.4f}", f"{r.seconds:.2f}",
                             f"{r.cpu_seconds:.2f}"]
                            + r.metrics.counts)


def save_plot(results, path, std=DEFAULT_STD, num_std=3.0):
    """Scatter of the first seed's samples per configuration, with the mode centres; a PNG."""
    import matplotlib  # Deferred: only the plot needs it.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    firsts = {}
    for r in results:
        firsts.setdefault(r.config, r)
    fig, axes = plt.subplots(1, len(firsts), figsize=(3.6 * len(firsts), 3.9), squeeze=False)
    centers = ring_centers()
    for ax, r in zip(axes[0], firsts.values()):
        ax.scatter(r.samples[:, 0], r.samples[:, 1], s=2, alpha=0.35, color="tab:blue",
                   label="generated")
        for center in centers:
            ax.add_patch(plt.Circle(center, num_std * std, fill=False, color="tab:red", lw=1))
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="tab:red", s=20,
                   label="mode centres")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_title(f"{r.config} (seed {r.seed})\n{r.metrics.modes_covered}/8 modes, "
                     f"HQ {r.metrics.high_quality_fraction:.2f}", fontsize=9)
    axes[0][0].legend(loc="lower left", fontsize=7, markerscale=3)
    fig.suptitle(f"Ring of 8 Gaussians (std {std:g}); circles: {num_std:g} std", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    """The command-line flags; `argv` defaults to `sys.argv[1:]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output_dir", default="out/mode_coverage",
                        help="Folder for samples.png and results.{csv,md,txt}.")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--steps", type=int, default=2500,
                        help="Train steps (generator updates) per run.")
    parser.add_argument("--batch_size", type=int, default=256,
                        help="Points per discriminator / generator update.")
    parser.add_argument("--noise_dims", type=int, default=8)
    parser.add_argument("--std", type=float, default=DEFAULT_STD,
                        help="Standard deviation of each mode (the papers: 0.02).")
    parser.add_argument("--eval_samples", type=int, default=2500)
    parser.add_argument("--num_std", type=float, default=3.0,
                        help="High quality: within this many std of the nearest centre.")
    parser.add_argument("--min_count", type=int, default=20,
                        help="A mode is covered with at least this many high-quality samples.")
    parser.add_argument("--gan_learning_rate", type=float, default=1e-3,
                        help="Adam learning rate of both networks, minimax and modified.")
    parser.add_argument("--clip_learning_rate", type=float, default=5e-5,
                        help="RMSprop learning rate of both networks, wgan_clip (WGAN: 5e-5).")
    parser.add_argument("--clip_value", type=float, default=0.01,
                        help="wgan_clip's critic weights are clipped to [-c, c] (WGAN: 0.01).")
    parser.add_argument("--gp_learning_rate", type=float, default=1e-4,
                        help="Adam learning rate of both networks, wgan_gp (WGAN-GP: 1e-4).")
    parser.add_argument("--steps_per_execution", type=int, default=50,
                        help="Train steps per call of the compiled train function.")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(describe())
    print(f"{len(args.configs)} configs x {len(args.seeds)} seeds, {args.steps} steps, "
          f"batch {args.batch_size}, noise {args.noise_dims}-D, std {args.std:g}; "
          f"high quality: < {args.num_std:g} std from the nearest centre; covered: "
          f">= {args.min_count} of {args.eval_samples} samples high quality in the mode")
    configs = make_configs(args.gan_learning_rate, args.clip_learning_rate, args.clip_value,
                           args.gp_learning_rate)
    start = time.perf_counter()
    results = run_experiment(
        [configs[name] for name in args.configs], args.seeds, steps=args.steps,
        batch_size=args.batch_size,
        noise_dims=args.noise_dims, std=args.std, eval_samples=args.eval_samples,
        num_std=args.num_std, min_count=args.min_count,
        steps_per_execution=args.steps_per_execution)
    rows = summarize(results)
    table = format_table(rows)
    print(f"\nTotal {time.perf_counter() - start:.1f} s\n")
    for name in args.configs:
        print(f"{name:<10} {configs[name].description}")
    print()
    print(table)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "results.txt"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    with open(os.path.join(args.output_dir, "results.md"), "w", encoding="utf-8") as f:
        f.write(format_markdown(rows) + "\n")
    write_csv(results, os.path.join(args.output_dir, "results.csv"))
    plot_path = os.path.join(args.output_dir, "samples.png")
    save_plot(results, plot_path, std=args.std, num_std=args.num_std)
    print(f"\nWrote {plot_path} and results.csv, results.md, results.txt")
    return results


if __name__ == "__main__":
    main()
