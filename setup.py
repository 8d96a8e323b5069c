"""Packaging for tfgan-losses: TF-GAN's losses, training and evaluation for Keras 3."""

import setuptools

setuptools.setup(
    name="tfgan-losses",
    version="0.1.0",
    description="TF-GAN's GAN losses, training loop and evaluation, ported to Keras 3.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # Only the library: models/ holds the examples' networks, imported from the
    # repository root by train.py, eval.py, bench/ and tests/.
    packages=setuptools.find_packages(include=["tfgan_losses", "tfgan_losses.*"]),
    package_data={"tfgan_losses": ["eval/assets/*"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorflow-datasets",
        # TFDS 4.9.10 imports importlib_resources without declaring it.
        "importlib_resources",
        "absl-py",
        # tf.summary needs TensorBoard, which TensorFlow 2.21 no longer installs.
        "tensorboard",
        "numpy",
    ],
    extras_require={
        # scipy: independent oracles (sqrtm, distances) in the tests and the exact
        # optimal-transport W1 of `divergences`; matplotlib: the examples' plots,
        # which their tests write.
        "test": ["pytest", "scipy", "matplotlib"],
        # The other Keras backends (KERAS_BACKEND=jax or torch); the tests that compare
        # backends skip without them. torch's wheel brings its CUDA libraries (GBs).
        "jax": ["jax[cpu]"],
        "torch": ["torch"],
        # matplotlib: plots written by bench/ and examples/.
        "bench": ["matplotlib", "scipy"],
    },
)
