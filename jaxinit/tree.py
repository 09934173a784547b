"""Passes over a whole parameter tree: biases scaled by their layer's fan-in.

A bias initializer in Flax sees only the bias shape ``(out,)``, so it cannot
know the fan-in of the kernel beside it. Two common rules need that fan-in:

- PyTorch's default for ``nn.Linear`` and ``nn.ConvNd``: the bias is
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)), with the fan-in of the layer's weight.
- The rule that draws kernels and biases alike from N(0, 1/fan_in),
  ``w_ij, b_j ~ N(0, std = 1/sqrt(n_i))``.

:func:`bias_from_fan_in` applies such a rule after ``model.init``: it finds
every mapping that contains both a kernel and a bias and redraws the bias
from the kernel's fan-in. It works on nested dicts and Flax ``FrozenDict``.
For Flax NNX, convert a state with ``nnx.to_pure_dict`` and back with
``nnx.replace_by_pure_dict``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, Literal

import jax
import numpy as np

from jaxinit.basic import TRUNCATED_NORMAL_STDDEV, normal, truncated_normal, uniform
from jaxinit.core import Initializer, check_choice, check_nonnegative
from jaxinit.fans import compute_fans
from jaxinit.variance import DISTRIBUTIONS

Distribution = Literal["normal", "truncated_normal", "uniform"]


def bias_from_fan_in(
    params: Mapping[str, Any],
    key: jax.Array,
    *,
    scale: float = 1.0,
    distribution: Distribution = "normal",
    kernel_name: str = "kernel",
    bias_name: str = "bias",
) -> dict[str, Any]:
    """Redraw every bias with variance ``scale / fan_in`` of the kernel beside it.

    For each mapping in ``params`` that contains both ``kernel_name`` and
    ``bias_name``, the bias is replaced by a draw of
    ``variance_scaling(scale, "fan_in", distribution)`` whose fan-in is that
    of the kernel (Flax layout ``(*spatial, in, out)``, so
    ``fan_in = in * prod(spatial)``). Other leaves are returned unchanged.

    - ``scale=1, distribution="normal"``: ``b_j ~ N(0, 1/fan_in)``.
    - ``scale=1/3, distribution="uniform"``: PyTorch's default bias,
      U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Each bias gets its own key, ``jax.random.fold_in(key, crc32(path))``, so
    the result does not depend on the order of the tree and is the same
    under ``jax.vmap`` over keys.

    Args:
      params: a nested mapping of arrays, such as ``variables["params"]``.
      key: a typed or legacy PRNG key.
      scale: the variance multiplier, finite and >= 0. Default 1.
      distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``.
      kernel_name: the key of the weight in each layer. Default ``"kernel"``.
      bias_name: the key of the bias in each layer. Default ``"bias"``.

    Returns:
      A new nested dict with the same structure, shapes and dtypes.

    Raises:
      ValueError: ``scale`` or ``distribution`` is invalid, or no layer in
        ``params`` has both a kernel and a bias.

    Example:
      >>> import flax.linen as nn
      >>> variables = nn.Dense(3).init(jax.random.key(0), jax.numpy.ones((1, 400)))
      >>> params = bias_from_fan_in(variables["params"], jax.random.key(1),
      ...                           scale=1 / 3, distribution="uniform")
      >>> bool(abs(params["bias"]).max() <= 0.05)
      True
    """
    scale = check_nonnegative("bias_from_fan_in", "scale", scale)
    check_choice("bias_from_fan_in", "distribution", distribution, DISTRIBUTIONS)

    found: list[str] = []
    rule = (scale, distribution)
    result = _redraw(params, key, rule, kernel_name, bias_name, (), found)
    if not found:
        raise ValueError(
            f"bias_from_fan_in: no layer in params has both a {kernel_name!r} and a "
            f"{bias_name!r} entry; pass kernel_name and bias_name if your layers use other names."
        )
    return result


def _redraw(node, key, rule, kernel_name, bias_name, path, found):
    if not isinstance(node, Mapping):
        return node
    result = {
        name: _redraw(child, key, rule, kernel_name, bias_name, (*path, str(name)), found)
        for name, child in node.items()
    }
    if kernel_name in node and bias_name in node:
        kernel, bias = node[kernel_name], node[bias_name]
        fan_in, _ = compute_fans(np.shape(kernel), scheme="bias_from_fan_in")
        path_name = "/".join((*path, bias_name))
        bias_key = jax.random.fold_in(key, zlib.crc32(path_name.encode()))
        scheme = _bias_scheme(*rule, fan_in)
        result[bias_name] = scheme(bias_key, np.shape(bias), bias.dtype)
        found.append(path_name)
    return result


def _bias_scheme(scale: float, distribution: str, fan_in: int) -> Initializer:
    """Return the scheme with variance ``scale / fan_in`` for a shape that has no fans."""
    stddev = float(np.sqrt(scale / fan_in))
    if distribution == "normal":
        return normal(stddev)
    if distribution == "uniform":
        bound = float(np.sqrt(3.0) * stddev)
        return uniform(minval=-bound, maxval=bound)
    return truncated_normal(stddev / TRUNCATED_NORMAL_STDDEV)
