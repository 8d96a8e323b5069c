"""Whether a layer's call is being traced for XLA, so it can pick an XLA-friendly computation."""


def in_xla_context():
    """Whether the current TensorFlow graph is being traced for XLA (`jit_compile=True`).

    True inside `tf.function(jit_compile=True)` (and so in Keras's
    `compile(jit_compile=True)` train step on the TensorFlow backend), False
    eagerly and in plain graph mode. TensorFlow's own ops (e.g.
    `TensorArray`) choose their XLA lowering with this check; it is not
    exported, hence the private import.

    Example:

      if in_xla_context():
          ...  # Ops that XLA compiles well.
    """
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())
