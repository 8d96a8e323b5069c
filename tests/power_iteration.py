"""numpy oracle of TF-GAN's spectral-normalization power iteration, shared by the tests."""

import numpy as np


def _normalize(vector):
    return vector / np.sqrt(max(np.sum(vector**2), 1e-12))


def power_iteration(matrix, u):
    """One round of TF-GAN's power iteration (column vectors, as TF-GAN): (sigma, new u).

    `matrix` is the kernel reshaped to [-1, output_size]; `u` the stored [1, rows] vector.
    """
    v = _normalize(matrix.T @ u.T)
    new_u = _normalize(matrix @ v)
    return float((new_u.T @ matrix @ v)[0, 0]), new_u.T
