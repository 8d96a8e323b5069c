"""Gradients and updates on PyTorch: `torch.autograd.grad` and stateful optimizers."""

import torch


def value_and_gradients(fn, variables, differentiable_outputs=False):
    """See `tfgan_losses.gradients.value_and_gradients`."""
    outputs = fn()
    gradients = torch.autograd.grad(outputs[0], [variable.value for variable in variables],
                                    retain_graph=differentiable_outputs, allow_unused=True)
    return outputs, list(gradients)


def input_gradients(fn, inputs):
    """See `tfgan_losses.gradients.input_gradients`: `create_graph=True` keeps the
    gradient differentiable with respect to the variables that `fn` reads."""
    with torch.enable_grad():
        if not inputs.requires_grad:
            inputs = inputs.detach().requires_grad_(True)
        outputs = fn(inputs)
        if not outputs.requires_grad:  # A constant: no gradient, as on TensorFlow.
            return None
        (gradients,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True,
                                           allow_unused=True)
    return gradients


def apply_gradients(optimizer, gradients, variables):
    """See `tfgan_losses.gradients.apply_gradients`."""
    with torch.no_grad():
        optimizer.apply(gradients, variables)


def run_step(step, variable_groups, data):
    """See `tfgan_losses.gradients.run_step`: Keras's PyTorch trainer calls
    `train_step(data)`, and the step changes the variables in place."""
    del variable_groups
    return step(data)
