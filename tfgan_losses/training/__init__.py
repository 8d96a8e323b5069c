"""Training GANs with `model.fit`: the GAN model, its callbacks and generator export."""
