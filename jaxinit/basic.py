"""Constant and plain random schemes: zeros, ones, constant, normal, uniform, truncated_normal.

These cover the "constant" and "random" families of initialization. A normal
or uniform scheme with a mean or range away from zero gives the small-mean
and large-mean variants, for example ``uniform(minval=-0.1, maxval=0.0)`` or
``normal(0.05, mean=0.5)``.

For float32 the random schemes return the same values as their namesakes in
``jax.nn.initializers`` for the same key.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import (
    Initializer,
    Shape,
    check_dtype_field,
    check_fits_dtype,
    check_nonnegative,
    check_real,
    inward_bounds,
    normal_sample_bound,
    sampling_dtype,
    set_fields,
)


@dataclasses.dataclass(frozen=True)
class Zeros(Initializer):
    """Initializer that returns an array of zeros; the key is ignored.

    Example:
      >>> zeros(jax.random.key(0), (2, 3)).sum()
      Array(0., dtype=float32)
    """

    random = False

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        return jnp.zeros(shape, dtype)


@dataclasses.dataclass(frozen=True)
class Ones(Initializer):
    """Initializer that returns an array of ones; the key is ignored.

    Example:
      >>> ones(jax.random.key(0), (2, 3)).sum()
      Array(6., dtype=float32)
    """

    random = False

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        return jnp.ones(shape, dtype)


zeros = Zeros()
ones = Ones()


@dataclasses.dataclass(frozen=True)
class Constant(Initializer):
    """Initializer that fills the array with ``value``; the key is ignored.

    ``value`` is a finite scalar (int, float, complex or bool). Integer and
    boolean dtypes are accepted. Build it with :func:`constant`.
    """

    value: int | float | complex | bool
    dtype: Any = None

    random = False

    def __post_init__(self):
        value = self.value
        if isinstance(value, np.generic | jax.Array | np.ndarray) and np.ndim(value) == 0:
            value = value.item()
        if not isinstance(value, numbers.Number):
            raise TypeError(
                f"constant: value must be a scalar number, got {type(self.value).__name__}; "
                "for an array-valued parameter, build the array directly."
            )
        if not isinstance(value, numbers.Integral) and not np.isfinite(value):
            raise ValueError(f"constant: value must be finite, got {value}.")
        set_fields(self, value=value, dtype=check_dtype_field("constant", self.dtype))

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        value = self.value
        if isinstance(value, complex) and not jnp.issubdtype(dtype, jnp.complexfloating):
            raise TypeError(
                f"constant: value {value} is complex, but dtype {dtype} is real; "
                "use a complex dtype such as complex64."
            )
        if dtype == np.bool_:
            if value not in (0, 1):
                raise ValueError(
                    f"constant: value {value} is not 0, 1, True or False, so it cannot fill "
                    "a boolean array."
                )
            return
        if jnp.issubdtype(dtype, jnp.integer):
            _check_fills_integer(value, dtype)
            return

        try:
            with np.errstate(over="ignore", invalid="ignore"):
                stored = np.asarray(value if isinstance(value, complex) else float(value))
                stored = stored.astype(dtype)
            finite = bool(np.isfinite(stored))
        except OverflowError:
            finite = False
        if not finite:
            raise ValueError(
                f"constant: value {value} overflows {dtype}, whose largest finite value is "
                f"{float(jnp.finfo(dtype).max):.4g}; use a wider dtype or a smaller value."
            )

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        return jnp.full(shape, self.value, dtype)


def _check_fills_integer(value: int | float | bool, dtype: np.dtype) -> None:
    if float(value) != int(value):
        raise ValueError(
            f"constant: value {value} is not a whole number, so it cannot fill an "
            f"integer array of dtype {dtype}."
        )
    info = np.iinfo(dtype)
    if not info.min <= int(value) <= info.max:
        raise ValueError(
            f"constant: value {value} is out of range for {dtype}, whose range is "
            f"{info.min} to {info.max}; use a wider integer dtype."
        )


def constant(value: int | float | complex | bool, dtype: Any = None) -> Constant:
    """Build an initializer that fills the array with ``value``.

    Args:
      value: a finite scalar.
      dtype: the default dtype of the result. Default ``None``.

    Raises:
      TypeError: ``value`` is not a scalar number (when built), or it is
        complex and the requested dtype is real (when called).
      ValueError: ``value`` is not finite (when built). When called, the value
        does not fit the requested dtype. That is a fraction or an out-of-range
        value for an integer dtype, anything but 0 or 1 for bool, or a magnitude
        beyond the largest finite value of a float dtype.

    Example:
      >>> constant(-7)(jax.random.key(0), (2,), jnp.int32)
      Array([-7, -7], dtype=int32)
    """
    return Constant(value, dtype)


@dataclasses.dataclass(frozen=True)
class Normal(Initializer):
    """Initializer drawing from N(mean, stddev**2). Build it with :func:`normal`."""

    stddev: float = 1e-2
    dtype: Any = None
    mean: float = 0.0

    allow_complex = True

    def __post_init__(self):
        set_fields(
            self,
            stddev=check_nonnegative("normal", "stddev", self.stddev),
            dtype=check_dtype_field("normal", self.dtype, random=True, allow_complex=True),
            mean=check_real("normal", "mean", self.mean),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        magnitude = abs(self.mean) + self.stddev * normal_sample_bound(dtype)
        check_fits_dtype("normal", dtype, magnitude, f"stddev={self.stddev} and mean={self.mean}")

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # The barrier keeps XLA from folding stddev into the sampler's constant,
        # which would change the last bit of some values under jit.
        unit = jax.lax.optimization_barrier(jax.random.normal(key, shape, dtype))
        values = unit * jnp.array(self.stddev, dtype)
        if self.mean != 0.0:
            values = values + jnp.array(self.mean, dtype)
        return values


def normal(stddev: float = 1e-2, dtype: Any = None, *, mean: float = 0.0) -> Normal:
    """Build an initializer drawing from the normal distribution N(mean, stddev**2).

    With complex dtypes the real and imaginary parts each get half the
    variance, as in ``jax.random.normal``.

    Args:
      stddev: the standard deviation, finite and >= 0. Default 0.01.
      dtype: the default dtype of the result. Default ``None``.
      mean: the mean, a finite real number. Default 0.

    Raises:
      ValueError: ``stddev`` is negative or either argument is not finite
        (when built), or samples could overflow the requested dtype (when
        called).
      TypeError: an argument is not a real number, or ``dtype`` is not a
        floating or complex dtype (when built).

    Example:
      >>> normal(1.0, mean=-0.5)
      Normal(stddev=1.0, dtype=None, mean=-0.5)
    """
    return Normal(stddev, dtype, mean)


@dataclasses.dataclass(frozen=True)
class Uniform(Initializer):
    """Initializer drawing from U[minval, maxval). Build it with :func:`uniform`."""

    minval: float = 0.0
    maxval: float = 1e-2
    dtype: Any = None

    def __post_init__(self):
        minval = check_real("uniform", "minval", self.minval)
        maxval = check_real("uniform", "maxval", self.maxval)
        if not minval < maxval:
            raise ValueError(
                f"uniform: minval must be smaller than maxval, got minval={minval} "
                f"and maxval={maxval}."
            )
        dtype = check_dtype_field("uniform", self.dtype, random=True)
        set_fields(self, minval=minval, maxval=maxval, dtype=dtype)

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        arguments = f"minval={self.minval} and maxval={self.maxval}"
        magnitude = max(abs(self.minval), abs(self.maxval), self.maxval - self.minval)
        check_fits_dtype("uniform", dtype, magnitude, arguments)
        lo, hi = inward_bounds(self.minval, self.maxval, dtype, high_open=True)
        if lo > hi:
            raise ValueError(
                f"uniform: no {dtype} value lies in [minval, maxval) with {arguments}; "
                "widen the range or use a wider dtype."
            )

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        if self.minval == 0.0:
            return jax.random.uniform(key, shape, dtype) * jnp.array(self.maxval, dtype)
        return jax.random.uniform(key, shape, dtype, self.minval, self.maxval)

    def _finalize(self, values: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # Rounding to a 16-bit dtype, or to float32 for a very narrow range, can
        # land a value on maxval or below minval. Clip to the dtype's values in [minval, maxval).
        lo, hi = inward_bounds(self.minval, self.maxval, dtype, high_open=True)
        return jnp.clip(values, lo, hi)


def uniform(
    scale: float = 1e-2,
    dtype: Any = None,
    *,
    minval: float | None = None,
    maxval: float | None = None,
) -> Uniform:
    """Build an initializer drawing from a uniform distribution.

    Two forms:

    - ``uniform(scale)`` draws from U[0, scale), as ``jax.nn.initializers.uniform``.
    - ``uniform(minval=a, maxval=b)`` draws from U[a, b); for example Keras'
      ``'uniform'`` is ``uniform(minval=-0.05, maxval=0.05)``.

    The variance is ``(maxval - minval)**2 / 12``.

    Args:
      scale: the upper bound of U[0, scale), finite and > 0. Default 0.01.
      dtype: the default dtype of the result. Default ``None``.
      minval: the lower bound of the range form.
      maxval: the upper bound of the range form; must exceed ``minval``.

    Raises:
      ValueError: when built, if ``scale`` is not positive, a bound is not
        finite, ``minval >= maxval``, only one bound is given, or ``scale`` is
        given together with a range. When called, if the range overflows the
        requested dtype or contains none of its values.
      TypeError: when built, if an argument is not a real number or ``dtype``
        is not a floating dtype.

    Example:
      >>> uniform(minval=-0.05, maxval=0.05)
      Uniform(minval=-0.05, maxval=0.05, dtype=None)
    """
    if minval is None and maxval is None:
        check_real("uniform", "scale", scale)
        if scale <= 0:
            raise ValueError(f"uniform: scale must be positive, got {float(scale)}.")
        return Uniform(0.0, scale, dtype)
    if minval is None or maxval is None:
        raise ValueError(
            f"uniform: the range form needs both minval and maxval, got minval={minval} "
            f"and maxval={maxval}."
        )
    if scale != 1e-2:
        raise ValueError(
            f"uniform: pass either scale or minval and maxval, not both; got scale={scale}."
        )
    return Uniform(minval, maxval, dtype)


# Standard deviation of a unit normal truncated to (-2, 2): the square root of
# 1 - 4 phi(2) / (Phi(2) - Phi(-2)).
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


@dataclasses.dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """Initializer drawing from a truncated normal. Build it with :func:`truncated_normal`."""

    stddev: float = 1e-2
    dtype: Any = None
    lower: float = -2.0
    upper: float = 2.0
    mean: float = 0.0

    def __post_init__(self):
        lower = _check_bound("lower", self.lower)
        upper = _check_bound("upper", self.upper)
        if not lower < upper:
            raise ValueError(
                f"truncated_normal: lower must be smaller than upper, got lower={lower} "
                f"and upper={upper}."
            )
        set_fields(
            self,
            stddev=check_nonnegative("truncated_normal", "stddev", self.stddev),
            dtype=check_dtype_field("truncated_normal", self.dtype, random=True),
            lower=lower,
            upper=upper,
            mean=check_real("truncated_normal", "mean", self.mean),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        arguments = (
            f"stddev={self.stddev}, mean={self.mean}, lower={self.lower} and upper={self.upper}"
        )
        if self.lower >= _TAIL_START or self.upper <= -_TAIL_START:
            # The tail sampler's CDF values stay above finfo.tiny, and
            # Phi(-x) < exp(-x**2 / 2) bounds how far that reaches.
            tiny = float(jnp.finfo(sampling_dtype(dtype)).tiny)
            cap = math.sqrt(-2.0 * math.log(tiny))
        else:
            cap = normal_sample_bound(dtype)
        largest_unit = max(min(abs(self.lower), cap), min(abs(self.upper), cap))
        magnitude = abs(self.mean) + self.stddev * largest_unit
        check_fits_dtype("truncated_normal", dtype, magnitude, arguments)

        # Below the smallest normal number the tail sampler's CDF values flush to
        # zero; demanding 2**20 times that keeps the lost mass under about 1e-6.
        near, far = _mirrored_to_lower_tail(self.lower, self.upper)
        mass = _normal_cdf(near) - _normal_cdf(far)
        smallest = float(jnp.finfo(sampling_dtype(dtype)).tiny) * 2.0**20
        if not mass >= smallest:
            raise ValueError(
                f"truncated_normal: the interval from lower={self.lower} to upper={self.upper} "
                f"standard deviations holds probability {mass:.3g} under the normal "
                f"distribution, too little to sample in {sampling_dtype(dtype)}; "
                "move the bounds towards the mean or sample in float64."
            )

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        unit = _unit_truncated_normal(key, self.lower, self.upper, shape, dtype)
        values = unit * jnp.array(self.stddev, dtype)
        if self.mean != 0.0:
            values = values + jnp.array(self.mean, dtype)
        return values


# Inverse-CDF sampling draws u uniformly between erf(lower / sqrt(2)) and
# erf(upper / sqrt(2)) and returns sqrt(2) * erfinv(u). When both bounds lie
# beyond two standard deviations on one side, both erf values crowd towards +-1,
# where float32 has few values left. Beyond 5 standard deviations only a handful
# remain, so every sample lands on the same few points or on the bound. Such
# intervals use the normal CDF in the lower tail instead, where float32 keeps its
# relative precision down to about 1e-38, and mirror the result for the upper tail.
_TAIL_START = 2.0


def _unit_truncated_normal(
    key: jax.Array, lower: float, upper: float, shape: Shape, dtype: np.dtype
) -> jax.Array:
    """Sample a unit normal conditioned on ``lower < z < upper`` (bounds may be infinite).

    Within two standard deviations of zero the values equal those of an eager
    ``jax.random.truncated_normal(key, lower, upper, shape, dtype)`` call.
    """
    if lower >= _TAIL_START or upper <= -_TAIL_START:
        return _tail_truncated_normal(key, lower, upper, shape, dtype)

    # A bound beyond every possible normal sample becomes that limit. erf rounds
    # both to +-1, so the draws do not change, but the final clip can no longer
    # return the largest float when an infinite bound meets a draw of exactly -1.
    bound = normal_sample_bound(dtype)
    lower = np.asarray(max(lower, -bound), dtype)
    upper = np.asarray(min(upper, bound), dtype)
    root2 = np.asarray(math.sqrt(2.0), dtype)

    # The erf values are computed now, by a jitted function that takes the
    # bounds as arguments, as eager jax.random.truncated_normal does. Computed
    # from constants inside the sampler, XLA folds them differently, which moves
    # the last bit of most samples.
    with jax.ensure_compile_time_eval():
        cdf_low, cdf_high = _erf_of_bounds(lower, upper)

    u = jax.random.uniform(key, shape, dtype, cdf_low, cdf_high)
    z = root2 * jax.lax.erf_inv(u)
    return jnp.clip(z, np.nextafter(lower, np.inf), np.nextafter(upper, -np.inf))


@jax.jit
def _erf_of_bounds(lower: jax.Array, upper: jax.Array) -> tuple[jax.Array, jax.Array]:
    root2 = np.asarray(math.sqrt(2.0), lower.dtype)
    return jax.lax.erf(lower / root2), jax.lax.erf(upper / root2)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _mirrored_to_lower_tail(lower: float, upper: float) -> tuple[float, float]:
    """Return ``(near, far)`` with P(far < Z < near) = P(lower < Z < upper) for a unit normal Z.

    An interval above zero is mirrored below it, where the normal CDF is accurate.
    """
    if lower > 0:
        return -lower, -upper
    return upper, lower


def _tail_truncated_normal(
    key: jax.Array, lower: float, upper: float, shape: Shape, dtype: np.dtype
) -> jax.Array:
    """Sample a unit normal restricted to ``[lower, upper]`` that lies on one side of zero."""
    near, far = _mirrored_to_lower_tail(lower, upper)
    tiny = float(jnp.finfo(dtype).tiny)
    low_cdf = np.asarray(max(_normal_cdf(far), tiny), dtype)
    high_cdf = np.asarray(_normal_cdf(near), dtype)

    u = jax.random.uniform(key, shape, dtype, low_cdf, high_cdf)
    z = jax.scipy.special.ndtri(u)
    z = jnp.clip(z, np.asarray(far, dtype), np.asarray(near, dtype))
    return -z if lower > 0 else z


def _check_bound(arg: str, value: Any) -> float:
    if isinstance(value, np.ndarray | jax.Array | np.generic) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"truncated_normal: {arg} must be a real number, got {value!r}.")
    if math.isnan(value):
        raise ValueError(f"truncated_normal: {arg} must not be nan.")
    return float(value)


def truncated_normal(
    stddev: float = 1e-2,
    dtype: Any = None,
    lower: float = -2.0,
    upper: float = 2.0,
    *,
    mean: float = 0.0,
) -> TruncatedNormal:
    """Build an initializer drawing from a normal truncated to ``[lower, upper]`` stddevs.

    The samples are ``mean + stddev * z`` with ``z`` a standard normal
    conditioned on ``lower < z < upper``. As in JAX and Flax, ``stddev`` is the
    standard deviation of the normal *before* truncation and the bounds are in
    units of it, so ``truncated_normal(0.02)`` stays within +-0.04 and its
    sample standard deviation is about 0.88 * 0.02. (PyTorch's
    ``trunc_normal_`` takes absolute bounds instead.)

    Args:
      stddev: the standard deviation before truncation, finite and >= 0.
        Default 0.01.
      dtype: the default dtype of the result. Default ``None``.
      lower: the lower bound in stddevs; may be ``-inf``. Default -2.
      upper: the upper bound in stddevs; may be ``inf``. Default 2.
      mean: the mean before truncation, finite. Default 0.

    Intervals that lie beyond two standard deviations on one side of the mean
    are sampled through the normal CDF of the lower tail, which stays accurate
    out to about 12 standard deviations in float32 and 37 in float64.

    Raises:
      ValueError: when built, if ``stddev`` is negative, ``lower >= upper``, or
        a value is nan. When called, if samples could overflow the requested
        dtype, or if the interval has less than ``2**20 * finfo.tiny`` of
        the normal's probability in the sampling dtype.
      TypeError: when built, if an argument is not a real number or ``dtype``
        is not a floating dtype.

    Example:
      >>> init = truncated_normal(0.02)
      >>> float(jnp.abs(init(jax.random.key(0), (1000,))).max()) <= 0.04
      True
    """
    return TruncatedNormal(stddev, dtype, lower, upper, mean)
