"""Tolerances for the statistical tests: standard errors, exact moments and a KS check.

Every statistical test draws a sample of a size fixed in advance with a fixed
key, and allows ``Z`` standard errors between the estimate and the exact value.
The standard errors come from the distribution's own moments:

- the mean of ``n`` draws has standard error ``sqrt(variance / n)``;
- the second central moment about the known mean, ``mean((x - mu)**2)``, has
  standard error ``sqrt((mu4 - variance**2) / n)``, where ``mu4`` is the
  fourth central moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.stats

# Allowed distance between an estimate and its exact value, in standard errors.
Z = 6.0

# Smallest p-value that a Kolmogorov-Smirnov test against the exact
# distribution may return for one fixed key.
KS_MIN_PVALUE = 1e-4


class Moments(NamedTuple):
    """Mean, variance and fourth central moment of a distribution."""

    mean: float
    variance: float
    mu4: float


def normal_moments(mean: float, stddev: float) -> Moments:
    return Moments(mean, stddev**2, 3.0 * stddev**4)


def uniform_moments(low: float, high: float) -> Moments:
    """Moments of U[low, high): variance ``w**2 / 12`` and ``mu4 = w**4 / 80``."""
    width = high - low
    return Moments((low + high) / 2, width**2 / 12, width**4 / 80)


def truncnorm_moments(lower: float, upper: float, stddev: float, mean: float = 0.0) -> Moments:
    """Moments of ``mean + stddev * Z``, Z a unit normal conditioned on ``lower < Z < upper``."""
    dist = scipy.stats.truncnorm(lower, upper, loc=mean, scale=stddev)
    center, variance, _, excess_kurtosis = (float(m) for m in dist.stats(moments="mvsk"))
    return Moments(center, variance, (excess_kurtosis + 3.0) * variance**2)


def se_mean(variance: float, n: int) -> float:
    return math.sqrt(variance / n)


def se_variance(moments: Moments, n: int) -> float:
    return math.sqrt((moments.mu4 - moments.variance**2) / n)


def as_float64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def assert_mean(values, moments: Moments, *, z: float = Z) -> None:
    """Assert that the sample mean is within ``z`` standard errors of ``moments.mean``."""
    x = as_float64(values)
    tolerance = z * se_mean(moments.variance, x.size)
    error = abs(x.mean() - moments.mean)
    assert error <= tolerance, (
        f"sample mean {x.mean():.6g} differs from {moments.mean:.6g} by {error:.3g}, "
        f"more than {z} standard errors ({tolerance:.3g})"
    )


def assert_variance(values, moments: Moments, *, z: float = Z) -> None:
    """Assert that the variance about the exact mean is within ``z`` standard errors."""
    x = as_float64(values)
    estimate = np.mean((x - moments.mean) ** 2)
    tolerance = z * se_variance(moments, x.size)
    error = abs(estimate - moments.variance)
    assert error <= tolerance, (
        f"sample variance {estimate:.6g} differs from {moments.variance:.6g} by {error:.3g}, "
        f"more than {z} standard errors ({tolerance:.3g})"
    )


def assert_moments(values, moments: Moments, *, z: float = Z) -> None:
    assert_mean(values, moments, z=z)
    assert_variance(values, moments, z=z)


def assert_ks(values, cdf: Callable[[np.ndarray], np.ndarray]) -> None:
    """Assert that a Kolmogorov-Smirnov test against ``cdf`` does not reject the sample."""
    result = scipy.stats.kstest(as_float64(values), cdf)
    assert result.pvalue >= KS_MIN_PVALUE, (
        f"KS statistic {result.statistic:.3g} has p-value {result.pvalue:.3g} < {KS_MIN_PVALUE}"
    )


def exp_truncated_moments(upper: float) -> tuple[float, float]:
    """Mean and variance of X ~ Exp(1) conditioned on X < ``upper``.

    ``|z|**2`` of a complex normal with ``E|z|**2 = 1`` is Exp(1), so these are
    the moments of the squared modulus of a complex normal truncated at
    modulus ``sqrt(upper)``.
    """
    dist = scipy.stats.truncexpon(upper)
    return float(dist.mean()), float(dist.var())
