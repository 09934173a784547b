"""Fan sizes of a parameter array and the recommended gain of a nonlinearity.

``compute_fans`` follows JAX's layout: a Flax dense kernel is ``(in, out)`` and
a convolution kernel is ``(*spatial, in, out)``. Every axis that is neither an
input, output nor batch axis is part of the receptive field, whose size
multiplies both fans.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from jaxinit.core import Axes, canonical_shape, check_axes, normalize_axes

_BIAS_HINT = (
    "a fan-based scheme needs at least two axes (inputs and outputs); "
    "for a bias or other 1-D parameter use zeros, constant or normal instead"
)


def compute_fans(
    shape: Sequence[int],
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    *,
    scheme: str = "compute_fans",
) -> tuple[int, int]:
    """Compute the fan-in and fan-out of a parameter of ``shape``.

    ``fan_in = prod(shape[in_axis]) * receptive_field`` and
    ``fan_out = prod(shape[out_axis]) * receptive_field``, where the receptive
    field is the product of every axis not named by ``in_axis``, ``out_axis``
    or ``batch_axis``. Batch axes count towards neither fan, so a stack of
    ``B`` kernels of shape ``(in, out)`` has the fans of one kernel.

    Args:
      shape: the parameter's shape.
      in_axis: the input axis or axes. Default ``-2``.
      out_axis: the output axis or axes. Default ``-1``.
      batch_axis: axes of independent stacked kernels. Default ``()``.
      scheme: the name used in error messages.

    Returns:
      ``(fan_in, fan_out)`` as ints. A zero-sized axis gives a zero fan.

    Raises:
      TypeError: an axis argument is not an int or a sequence of ints.
      ValueError: the shape has fewer than two axes with the default axes, an
        axis is out of range, or the same axis is named twice.

    Example:
      >>> compute_fans((3, 3, 16, 32))
      (144, 288)
      >>> compute_fans((8, 256, 128), batch_axis=0)
      (256, 128)
    """
    shape = canonical_shape(scheme, shape)
    in_axis = check_axes(scheme, "in_axis", in_axis)
    out_axis = check_axes(scheme, "out_axis", out_axis)
    batch_axis = check_axes(scheme, "batch_axis", batch_axis)

    ndim = len(shape)
    if ndim < 2 and (isinstance(in_axis, int) or isinstance(out_axis, int)):
        raise ValueError(f"{scheme}: got shape {shape}, but {_BIAS_HINT}.")
    in_axes = normalize_axes(scheme, "in_axis", in_axis, ndim)
    out_axes = normalize_axes(scheme, "out_axis", out_axis, ndim)
    batch_axes = normalize_axes(scheme, "batch_axis", batch_axis, ndim)
    _check_disjoint(scheme, in_axes, out_axes, batch_axes)

    named = set(in_axes) | set(out_axes) | set(batch_axes)
    receptive_field = math.prod(shape[axis] for axis in range(ndim) if axis not in named)
    fan_in = math.prod(shape[axis] for axis in in_axes) * receptive_field
    fan_out = math.prod(shape[axis] for axis in out_axes) * receptive_field
    return fan_in, fan_out


def _check_disjoint(scheme: str, in_axes: tuple, out_axes: tuple, batch_axes: tuple) -> None:
    pairs = (
        ("in_axis", in_axes, "out_axis", out_axes),
        ("in_axis", in_axes, "batch_axis", batch_axes),
        ("out_axis", out_axes, "batch_axis", batch_axes),
    )
    for first, first_axes, second, second_axes in pairs:
        shared = sorted(set(first_axes) & set(second_axes))
        if shared:
            # Flax's default Embed initializer sets only out_axis=0, which on a
            # 2-D table is also the default in_axis=-2.
            hint = (
                " For an embedding table (num_embeddings, features) with out_axis=0, "
                "pass in_axis=-1."
                if (first, second) == ("in_axis", "out_axis")
                else ""
            )
            raise ValueError(
                f"{scheme}: {first} and {second} must name different axes, "
                f"but both name axis {shared[0]}.{hint}"
            )


# Gains for the nonlinearities whose value is established. The rows that
# PyTorch's torch.nn.init.calculate_gain also lists take its values.
_UNIT_GAIN = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
_GAIN_NAMES = (*_UNIT_GAIN, "tanh", "relu", "leaky_relu", "selu")
_DEFAULT_LEAKY_SLOPE = 0.01


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for weights followed by ``nonlinearity``.

    Multiply a unit-variance scheme's standard deviation by this gain, or pass
    ``gain**2`` as the ``scale`` of ``variance_scaling``.

    ==============================  ==========================  ========================
    nonlinearity                    gain                        source
    ==============================  ==========================  ========================
    linear, identity, conv*d,       1                           no change of variance
    conv_transpose*d, sigmoid
    tanh                            5/3                         PyTorch's empirical value
    relu                            sqrt(2)                     He et al. 2015
    leaky_relu (slope ``param``)    sqrt(2 / (1 + slope**2))    He et al. 2015
    selu                            3/4                         PyTorch's value for SNNs
    ==============================  ==========================  ========================

    GELU and SiLU are not listed: no gain for them is established, and a
    measured one depends on the input distribution.

    Args:
      nonlinearity: one of the names in the table, lower case.
      param: the negative slope of ``leaky_relu`` (default 0.01); any other
        nonlinearity takes no parameter.

    Returns:
      The gain as a Python float.

    Raises:
      ValueError: the name is unknown, or ``param`` is given for a
        nonlinearity other than ``leaky_relu`` or is not a finite real number.

    Example:
      >>> round(calculate_gain("leaky_relu", 5**0.5) ** 2, 4)
      0.3333

    References:
      He, Zhang, Ren, Sun. "Delving Deep into Rectifiers: Surpassing
      Human-Level Performance on ImageNet Classification", 2015.
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in _GAIN_NAMES:
        accepted = ", ".join(_GAIN_NAMES)
        raise ValueError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; accepted names are {accepted}."
        )
    if nonlinearity != "leaky_relu" and param is not None:
        raise ValueError(
            f"calculate_gain: param is only used by 'leaky_relu', got param={param!r} "
            f"for {nonlinearity!r}."
        )

    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 0.75

    slope = _DEFAULT_LEAKY_SLOPE if param is None else param
    message = (
        f"calculate_gain: param for 'leaky_relu' must be a finite real negative slope, "
        f"got {slope!r}."
    )
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
        raise ValueError(message)
    try:
        slope = float(slope)
    except OverflowError:
        raise ValueError(message) from None
    if not math.isfinite(slope):
        raise ValueError(message)
    if abs(slope) > 1e100:
        # slope**2 overflows beyond about 1e154, and 1 + slope**2 == slope**2 here.
        return math.sqrt(2.0) / abs(slope)
    return math.sqrt(2.0 / (1.0 + slope**2))
