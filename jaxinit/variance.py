"""Variance scaling and its named families.

``variance_scaling(scale, mode, distribution)`` draws weights with variance
``scale / n``, where ``n`` is the fan-in, the fan-out, or their arithmetic or
geometric mean. Every named family is one specialization of it:

================================  =====  ========  =================
name                              scale  mode      distribution
================================  =====  ========  =================
fan_in_normal / _uniform / ...    1      fan_in    as named
fan_out_normal / ...              1      fan_out   as named
fan_avg_normal / ...              1      fan_avg   as named
lecun_normal / lecun_uniform      1      fan_in    truncated / uniform
glorot_normal / glorot_uniform    1      fan_avg   truncated / uniform
he_normal / he_uniform            2      fan_in    truncated / uniform
================================  =====  ========  =================

The classic names keep JAX's definitions, so ``lecun_normal`` and
``he_normal`` are *truncated* normals. The ``fan_*`` names say the
distribution outright: ``fan_in_normal()`` is the plain N(0, 1/fan_in).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.basic import TRUNCATED_NORMAL_STDDEV, _unit_truncated_normal
from jaxinit.core import (
    Axes,
    Initializer,
    Shape,
    check_axes,
    check_choice,
    check_dtype_field,
    check_fits_dtype,
    check_nonnegative,
    inward_bounds,
    normal_sample_bound,
    sampling_dtype,
    set_fields,
)
from jaxinit.fans import compute_fans

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["normal", "truncated_normal", "uniform"]

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")

# Standard deviation of a complex normal with E|z|^2 = 1 whose modulus is
# truncated at 2. |z|^2 is Exp(1), and E[X | X < 4] = (1 - 5 e^-4) / (1 - e^-4).
# (JAX 0.10 uses sqrt(1 - 5 e^-4) = 0.9531 here, which omits the
# normalization and makes the variance 1.9% too large.)
COMPLEX_TRUNCATED_NORMAL_STDDEV = math.sqrt((1 - 5 * math.exp(-4)) / (1 - math.exp(-4)))


@dataclasses.dataclass(frozen=True)
class VarianceScaling(Initializer):
    """Initializer with variance ``scale / n``, ``n`` set by ``mode``.

    Build it with :func:`variance_scaling` or one of the named families.
    """

    scale: float
    mode: Mode
    distribution: Distribution
    in_axis: Axes = -2
    out_axis: Axes = -1
    batch_axis: Axes = ()
    dtype: Any = None

    allow_complex = True

    def __post_init__(self):
        name = "variance_scaling"
        set_fields(
            self,
            scale=check_nonnegative(name, "scale", self.scale),
            mode=check_choice(name, "mode", self.mode, MODES),
            distribution=check_choice(name, "distribution", self.distribution, DISTRIBUTIONS),
            in_axis=check_axes(name, "in_axis", self.in_axis),
            out_axis=check_axes(name, "out_axis", self.out_axis),
            batch_axis=check_axes(name, "batch_axis", self.batch_axis),
            dtype=check_dtype_field(name, self.dtype, random=True, allow_complex=True),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        label = self._label()
        compute_fans(shape, self.in_axis, self.out_axis, self.batch_axis, scheme=label)
        if math.prod(shape) == 0:
            return

        # The sampler forms the variance (3 * variance for uniform) in the sampling
        # dtype before the square root, so it must fit there as well as the largest sample.
        variance = self.scale / self._variance_denominator(shape)
        factor = 3.0 if self.distribution == "uniform" else 1.0
        largest = float(jnp.finfo(sampling_dtype(dtype)).max)
        if not factor * variance <= largest:
            term = "3 * variance" if factor == 3.0 else "variance"
            raise ValueError(
                f"{label}: with scale={self.scale} and shape {shape}, {term} = "
                f"{factor * variance:.4g} overflows {sampling_dtype(dtype)} (largest finite "
                f"value {largest:.4g}); use a smaller scale or a wider dtype."
            )
        arguments = f"scale={self.scale} and shape {shape}"
        check_fits_dtype(label, dtype, self._largest_sample(variance, dtype), arguments)

    def _largest_sample(self, variance: float, dtype: np.dtype) -> float:
        stddev = math.sqrt(variance)
        is_complex = jnp.issubdtype(dtype, jnp.complexfloating)
        if self.distribution == "normal":
            return stddev * normal_sample_bound(dtype)
        if self.distribution == "uniform":
            return stddev * (math.sqrt(2.0) if is_complex else math.sqrt(3.0))
        if is_complex:
            return 2.0 * stddev / COMPLEX_TRUNCATED_NORMAL_STDDEV
        return 2.0 * stddev / TRUNCATED_NORMAL_STDDEV

    def _label(self) -> str:
        return f"variance_scaling(mode={self.mode!r}, distribution={self.distribution!r})"

    def _variance_denominator(self, shape: Shape) -> float:
        fan_in, fan_out = compute_fans(shape, self.in_axis, self.out_axis, self.batch_axis)
        if self.mode == "fan_in":
            return float(fan_in)
        if self.mode == "fan_out":
            return float(fan_out)
        if self.mode == "fan_avg":
            return (fan_in + fan_out) / 2
        return float(fan_in * fan_out) ** 0.5

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # The multipliers are computed in NumPy in the sampling precision, so they
        # round exactly as JAX's eager initializers do, whatever XLA fuses.
        real = np.finfo(dtype).dtype.type
        variance = real(self.scale / self._variance_denominator(shape))
        is_complex = jnp.issubdtype(dtype, jnp.complexfloating)

        if self.distribution == "normal":
            # Without the barrier XLA folds this multiplier into the sampler's own
            # constant, which changes the last bit of some values under jit.
            unit = jax.lax.optimization_barrier(jax.random.normal(key, shape, dtype))
            return unit * np.sqrt(variance)
        if self.distribution == "uniform":
            if is_complex:
                return _complex_uniform(key, shape, dtype) * np.sqrt(variance)
            return jax.random.uniform(key, shape, dtype, -1) * np.sqrt(real(3) * variance)
        if is_complex:
            stddev = np.sqrt(variance) / real(COMPLEX_TRUNCATED_NORMAL_STDDEV)
            return _complex_truncated_normal(key, 2.0, shape, dtype) * stddev
        stddev = np.sqrt(variance) / real(TRUNCATED_NORMAL_STDDEV)
        return _unit_truncated_normal(key, -2.0, 2.0, shape, dtype) * stddev

    def _finalize(self, values: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        if self.distribution != "uniform" or jnp.issubdtype(dtype, jnp.complexfloating):
            return values
        # Rounding a float32 sample to a 16-bit dtype can land it on +-limit;
        # clip to the dtype's values in [-limit, limit).
        real = np.finfo(sampling_dtype(dtype)).dtype.type
        variance = real(self.scale / self._variance_denominator(shape))
        limit = float(np.sqrt(real(3) * variance))
        lo, hi = inward_bounds(-limit, limit, dtype, high_open=True)
        return jnp.clip(values, lo, hi)


def _complex_uniform(key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
    """Sample uniformly from the disk of radius sqrt(2), which has E|z|^2 = 1."""
    real_dtype = np.finfo(dtype).dtype
    radius_key, angle_key = jax.random.split(key)
    radius = jnp.sqrt(2 * jax.random.uniform(radius_key, shape, real_dtype))
    angle = 2 * np.pi * jax.random.uniform(angle_key, shape, real_dtype)
    return (radius * jnp.exp(1j * angle)).astype(dtype)


def _complex_truncated_normal(
    key: jax.Array, upper: float, shape: Shape, dtype: np.dtype
) -> jax.Array:
    """Sample a complex normal with E|z|^2 = 1 before truncating the modulus at ``upper``.

    |z|^2 of such a normal is Exp(1); inverting its CDF restricted to
    [0, upper^2] gives the squared modulus, and the angle is uniform.
    """
    real_dtype = np.finfo(dtype).dtype
    radius_key, angle_key = jax.random.split(key)
    mass = 1 - math.exp(-(upper**2))
    squared_radius = -jnp.log1p(-mass * jax.random.uniform(radius_key, shape, real_dtype))
    angle = 2 * np.pi * jax.random.uniform(angle_key, shape, real_dtype)
    return (jnp.sqrt(squared_radius) * jnp.exp(1j * angle)).astype(dtype)


def variance_scaling(
    scale: float,
    mode: Mode,
    distribution: Distribution,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer whose variance adapts to the fans of the shape.

    The variance is ``scale / n`` with ``n`` by ``mode``: ``fan_in``,
    ``fan_out``, ``fan_avg = (fan_in + fan_out) / 2`` or
    ``fan_geo_avg = sqrt(fan_in * fan_out)`` (see :func:`compute_fans`). The
    distribution is:

    - ``"normal"``: N(0, scale / n).
    - ``"truncated_normal"``: a normal truncated at two of its standard
      deviations, rescaled so that the variance *after* truncation is
      ``scale / n`` (stddev before truncation ``sqrt(scale / n) / 0.8796``).
    - ``"uniform"``: U(-a, a) with ``a = sqrt(3 scale / n)``.

    For complex dtypes, ``E|w|^2 = scale / n`` and the real and imaginary parts
    each carry half of it: a complex normal, a complex normal whose modulus is
    truncated at two standard deviations, or a uniform disk.

    Args:
      scale: the variance multiplier, finite and >= 0 (use
        ``calculate_gain(name) ** 2`` for a nonlinearity's gain).
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``.
      in_axis: the input axis or axes of the parameter. Default ``-2``.
      out_axis: the output axis or axes of the parameter. Default ``-1``.
      batch_axis: axes of independent stacked kernels, which count towards
        neither fan. Default ``()``.
      dtype: the default dtype of the result. Default ``None``.

    Raises:
      ValueError: when built, if ``scale`` is negative or not finite, or
        ``mode`` or ``distribution`` is not one of the accepted strings. When
        called, if the shape has too few axes, the axes are out of range or
        overlap, or the variance or the samples overflow the requested dtype.
      TypeError: when built, if an axis argument is not an int or a sequence
        of ints, or ``dtype`` is not a floating or complex dtype.

    Example:
      >>> variance_scaling(2.0, "fan_in", "normal")
      VarianceScaling(scale=2.0, mode='fan_in', distribution='normal', in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)

    References:
      Glorot, Bengio. "Understanding the difficulty of training deep
      feedforward neural networks", 2010. He, Zhang, Ren, Sun. "Delving Deep
      into Rectifiers", 2015. Trabelsi et al. "Deep Complex Networks", 2018.
    """  # noqa: E501
    return VarianceScaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)


# The fan_* families name the mode and the distribution outright and take a
# scale, so fan_in_normal(2.0) is He's N(0, 2 / fan_in) without truncation.


def fan_in_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from N(0, scale / fan_in).

    With the default scale this is w ~ N(0, std = 1/sqrt(fan_in)), a plain
    normal, not truncated.

    Example:
      >>> w = fan_in_normal()(jax.random.key(0), (400, 300))
      >>> round(float(w.std() * 400**0.5), 1)
      1.0

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_in", "normal", in_axis, out_axis, batch_axis, dtype)


def fan_in_uniform(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from U(-a, a) with a = sqrt(3 scale / fan_in).

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def fan_in_truncated_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build a truncated normal with variance scale / fan_in after truncation.

    The normal is truncated at two of its standard deviations.

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(
        scale, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


def fan_out_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from N(0, scale / fan_out).

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_out", "normal", in_axis, out_axis, batch_axis, dtype)


def fan_out_uniform(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from U(-a, a) with a = sqrt(3 scale / fan_out).

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_out", "uniform", in_axis, out_axis, batch_axis, dtype)


def fan_out_truncated_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build a truncated normal with variance scale / fan_out after truncation.

    The normal is truncated at two of its standard deviations.

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(
        scale, "fan_out", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


def fan_avg_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from N(0, 2 scale / (fan_in + fan_out)).

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_avg", "normal", in_axis, out_axis, batch_axis, dtype)


def fan_avg_uniform(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build an initializer drawing from U(-a, a) with a = sqrt(3 2 scale / (fan_in + fan_out)).

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(scale, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def fan_avg_truncated_normal(
    scale: float = 1.0,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> VarianceScaling:
    """Build a truncated normal with variance 2 scale / (fan_in + fan_out) after truncation.

    The normal is truncated at two of its standard deviations.

    Arguments as in :func:`variance_scaling`.
    """
    return VarianceScaling(
        scale, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


# The classic names keep JAX's definitions and arguments (no scale).


def lecun_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the LeCun normal: truncated normal with variance 1 / fan_in.

    Equal to ``variance_scaling(1.0, "fan_in", "truncated_normal")``; arguments as there.

    References:
      LeCun, Bottou, Orr, Mueller. "Efficient BackProp", 1998.
      Klambauer et al. "Self-Normalizing Neural Networks", 2017.
    """
    return VarianceScaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the LeCun uniform: U(-a, a) with a = sqrt(3 / fan_in).

    Equal to ``variance_scaling(1.0, "fan_in", "uniform")``; arguments as there.

    References:
      LeCun, Bottou, Orr, Mueller. "Efficient BackProp", 1998.
    """
    return VarianceScaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the Glorot (Xavier) normal: truncated normal with variance 2 / (fan_in + fan_out).

    Equal to ``variance_scaling(1.0, "fan_avg", "truncated_normal")``; arguments as there.

    References:
      Glorot, Bengio. "Understanding the difficulty of training deep
      feedforward neural networks", 2010.
    """
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


xavier_normal = glorot_normal


def glorot_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the Glorot (Xavier) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).

    Equal to ``variance_scaling(1.0, "fan_avg", "uniform")``; arguments as there.

    References:
      Glorot, Bengio. "Understanding the difficulty of training deep
      feedforward neural networks", 2010.
    """
    return VarianceScaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


xavier_uniform = glorot_uniform


def he_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the He (Kaiming) normal: truncated normal with variance 2 / fan_in.

    Equal to ``variance_scaling(2.0, "fan_in", "truncated_normal")``; arguments as there.

    References:
      He, Zhang, Ren, Sun. "Delving Deep into Rectifiers", 2015.
    """
    return VarianceScaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


kaiming_normal = he_normal


def he_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> VarianceScaling:
    """Build the He (Kaiming) uniform: U(-a, a) with a = sqrt(6 / fan_in).

    Equal to ``variance_scaling(2.0, "fan_in", "uniform")``; arguments as there.

    References:
      He, Zhang, Ren, Sun. "Delving Deep into Rectifiers", 2015.
    """
    return VarianceScaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


kaiming_uniform = he_uniform
