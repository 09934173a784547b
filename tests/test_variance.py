"""Tests for jaxinit.variance: the variance formula, bounds, complex dtypes, JAX equality, errors.

For each case the exact variance is ``scale / n`` with ``n`` the fan-in, the
fan-out, their mean or their geometric mean. The moments are compared within
six standard errors computed from each distribution's own fourth moment.
"""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from stats import (
    Moments,
    as_float64,
    assert_ks,
    assert_mean,
    assert_moments,
    exp_truncated_moments,
    normal_moments,
    truncnorm_moments,
    uniform_moments,
)

import jaxinit
from jaxinit import compute_fans

KEY = jax.random.key(0)
LEGACY_KEY = jax.random.PRNGKey(0)
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")

# Standard deviation of a unit normal truncated to (-2, 2), from scipy.
TRUNCATED_STDDEV = float(scipy.stats.truncnorm(-2.0, 2.0).std())

DENSE = ((400, 500), {})
# shape, axis arguments
SHAPES = {
    "dense": DENSE,
    "conv1d": ((5, 64, 96), {}),
    "batch": ((4, 200, 300), {"batch_axis": 0}),
    "multi_axis": ((20, 30, 400), {"in_axis": (0, 1), "out_axis": 2}),
}

# Every mode and distribution run on the dense shape. The other shapes get one
# case per distribution, with the modes rotated, because each case compiles a
# sampler. One case per other shape runs in the fast step.
CASES = [("dense", mode, distribution) for mode in MODES for distribution in DISTRIBUTIONS] + [
    pytest.param(
        shape,
        MODES[(i + j) % 4],
        distribution,
        marks=() if i == j else pytest.mark.slow,
        id=f"{shape}-{MODES[(i + j) % 4]}-{distribution}",
    )
    for i, shape in enumerate(("conv1d", "batch", "multi_axis"))
    for j, distribution in enumerate(DISTRIBUTIONS)
]


def _denominator(mode, fan_in, fan_out):
    return {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": math.sqrt(fan_in * fan_out),
    }[mode]


def _exact_moments(distribution, variance):
    """Moments of the scheme's distribution with the given variance after truncation."""
    if distribution == "normal":
        return normal_moments(0.0, math.sqrt(variance))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        return uniform_moments(-limit, limit)
    return truncnorm_moments(-2.0, 2.0, math.sqrt(variance) / TRUNCATED_STDDEV)


@pytest.mark.parametrize("shape_name, mode, distribution", CASES)
def test_variance_formula(shape_name, mode, distribution):
    shape, axes = SHAPES[shape_name]
    scale = 2.0
    init = jaxinit.variance_scaling(scale, mode, distribution, **axes)
    fan_in, fan_out = compute_fans(shape, **axes)
    variance = scale / _denominator(mode, fan_in, fan_out)

    values = init(KEY, shape)
    x = as_float64(values)

    assert values.shape == shape
    assert values.dtype == jnp.float32
    assert_moments(x, _exact_moments(distribution, variance))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        assert x.min() >= -limit * (1 + 1e-6)
        assert x.max() < limit
    if distribution == "truncated_normal":
        stddev_before = math.sqrt(variance) / TRUNCATED_STDDEV
        assert np.abs(x).max() <= 2.0 * stddev_before * (1 + 1e-6)


def test_fans_of_the_shapes():
    assert compute_fans(*SHAPES["dense"][:1], **SHAPES["dense"][1]) == (400, 500)
    assert compute_fans(SHAPES["conv1d"][0]) == (320, 480)
    assert compute_fans(SHAPES["batch"][0], **SHAPES["batch"][1]) == (200, 300)
    assert compute_fans(SHAPES["multi_axis"][0], **SHAPES["multi_axis"][1]) == (600, 400)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_variance_ks_against_exact_distribution(distribution):
    shape = (400, 500)
    init = jaxinit.variance_scaling(2.0, "fan_in", distribution)
    x = as_float64(init(KEY, shape))[: 10**5]
    stddev = math.sqrt(2.0 / 400)
    if distribution == "normal":
        cdf = scipy.stats.norm(0.0, stddev).cdf
    elif distribution == "uniform":
        limit = math.sqrt(3.0) * stddev
        cdf = scipy.stats.uniform(-limit, 2 * limit).cdf
    else:
        cdf = scipy.stats.truncnorm(-2.0, 2.0, scale=stddev / TRUNCATED_STDDEV).cdf
    assert_ks(x, cdf)


def test_variance_conv2d_kernel():
    # One rank-4 kernel; XLA's CPU backend compiles rank-4 samplers slowly.
    shape = (3, 3, 16, 32)
    values = jaxinit.he_normal()(KEY, shape)
    variance = 2.0 / (3 * 3 * 16)
    assert_moments(values, _exact_moments("truncated_normal", variance))


def test_variance_zero_scale_gives_zeros():
    assert bool(jnp.all(jaxinit.variance_scaling(0.0, "fan_in", "normal")(KEY, (4, 5)) == 0))


# Complex dtypes: E|w|^2 = scale / n, half of it in each part, zero mean.

COMPLEX_SHAPE = (1000, 1000)


def _squared_modulus_moments(distribution, variance):
    """Mean and variance of |w|**2 for a complex scheme with E|w|**2 = variance."""
    if distribution == "normal":
        # |w|**2 is exponential with mean `variance`.
        return variance, variance**2
    if distribution == "uniform":
        # A uniform disk of radius sqrt(2 variance): |w|**2 ~ U(0, 2 variance).
        return variance, (2 * variance) ** 2 / 12
    # |z|**2 ~ Exp(1) truncated at 4 for the unit scheme, rescaled to mean `variance`.
    mean, var = exp_truncated_moments(4.0)
    return variance, var * (variance / mean) ** 2


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_complex64_variance_split_and_zero_mean(distribution):
    scale = 1.0
    init = jaxinit.variance_scaling(scale, "fan_in", distribution)
    values = init(KEY, COMPLEX_SHAPE, jnp.complex64)
    w = np.asarray(values).ravel().astype(np.complex128)
    variance = scale / COMPLEX_SHAPE[0]
    n = w.size

    assert values.dtype == jnp.complex64
    mean_sq, var_sq = _squared_modulus_moments(distribution, variance)
    squared = np.abs(w) ** 2
    assert abs(squared.mean() - mean_sq) <= 6 * math.sqrt(var_sq / n)
    # Each part carries half of E|w|^2. The standard error of mean(part**2) is
    # at most that of |w|**2 for these rotation-invariant distributions.
    for part in (w.real, w.imag):
        assert abs(np.mean(part**2) - variance / 2) <= 6 * math.sqrt(var_sq / n)
        assert abs(part.mean()) <= 6 * math.sqrt(variance / 2 / n)
    if distribution == "uniform":
        assert np.abs(w).max() <= math.sqrt(2 * variance) * (1 + 1e-6)
    if distribution == "truncated_normal":
        mean_unit, _ = exp_truncated_moments(4.0)
        radius = 2.0 * math.sqrt(variance / mean_unit)
        assert np.abs(w).max() <= radius * (1 + 1e-6)


# Equality with jax.nn.initializers in float32 (against JAX's eager call).


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_variance_scaling_equals_jax(mode, distribution):
    shape = DENSE[0]
    ours = jaxinit.variance_scaling(2.0, mode, distribution)(KEY, shape)
    theirs = jax.nn.initializers.variance_scaling(2.0, mode, distribution)(KEY, shape)
    assert bool(jnp.array_equal(ours, theirs))


# The fast cases of test_variance_formula, so that jaxinit's side is compiled once.
@pytest.mark.parametrize(
    "shape_name, mode, distribution",
    [
        ("conv1d", "fan_in", "normal"),
        ("batch", "fan_avg", "truncated_normal"),
        ("multi_axis", "fan_in", "uniform"),
    ],
)
def test_variance_scaling_axes_equal_jax(shape_name, mode, distribution):
    shape, axes = SHAPES[shape_name]
    ours = jaxinit.variance_scaling(2.0, mode, distribution, **axes)(KEY, shape)
    theirs = jax.nn.initializers.variance_scaling(2.0, mode, distribution, **axes)(KEY, shape)
    assert bool(jnp.array_equal(ours, theirs))


NAMED = [
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
]


# A legacy key compiles both samplers again, so two names run in the fast step.
NAMED_CASES = [(name, "typed") for name in NAMED] + [
    pytest.param(
        name,
        "legacy",
        marks=() if name in ("lecun_normal", "glorot_uniform") else pytest.mark.slow,
    )
    for name in NAMED
]


@pytest.mark.parametrize("name, key_kind", NAMED_CASES)
def test_named_family_equals_jax(name, key_kind):
    key = KEY if key_kind == "typed" else LEGACY_KEY
    shape = (64, 48)
    ours = getattr(jaxinit, name)()(key, shape)
    theirs = getattr(jax.nn.initializers, name)()(key, shape)
    assert bool(jnp.array_equal(ours, theirs))


@pytest.mark.parametrize(
    "name, scale, mode, distribution",
    [
        ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
        ("lecun_uniform", 1.0, "fan_in", "uniform"),
        ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
        ("glorot_uniform", 1.0, "fan_avg", "uniform"),
        ("he_normal", 2.0, "fan_in", "truncated_normal"),
        ("he_uniform", 2.0, "fan_in", "uniform"),
    ],
)
def test_named_family_definition(name, scale, mode, distribution):
    built = getattr(jaxinit, name)(in_axis=0, out_axis=(1, 2), batch_axis=3, dtype=jnp.bfloat16)
    expected = jaxinit.VarianceScaling(scale, mode, distribution, 0, (1, 2), 3, jnp.bfloat16)
    assert built == expected


def test_named_aliases():
    assert jaxinit.xavier_normal is jaxinit.glorot_normal
    assert jaxinit.xavier_uniform is jaxinit.glorot_uniform
    assert jaxinit.kaiming_normal is jaxinit.he_normal
    assert jaxinit.kaiming_uniform is jaxinit.he_uniform


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mode", ("fan_in", "fan_out", "fan_avg"))
def test_fan_family_definition(mode, distribution):
    builder = getattr(jaxinit, f"{mode}_{distribution}")
    assert builder() == jaxinit.VarianceScaling(1.0, mode, distribution)
    built = builder(3.0, -3, (-2, -1), 0, jnp.float16)
    assert built == jaxinit.VarianceScaling(3.0, mode, distribution, -3, (-2, -1), 0, jnp.float16)


def test_fan_in_normal_is_plain_normal():
    shape = (400, 500)
    x = as_float64(jaxinit.fan_in_normal()(KEY, shape))
    assert_moments(x, normal_moments(0.0, 1 / math.sqrt(400)))
    # A plain normal exceeds two standard deviations in 4.55% of draws.
    beyond = np.mean(np.abs(x) > 2 / math.sqrt(400))
    expected = 2 * scipy.stats.norm.sf(2.0)
    assert abs(beyond - expected) <= 6 * math.sqrt(expected * (1 - expected) / x.size)


def test_repr_reads_as_constructor():
    assert repr(jaxinit.he_uniform()) == (
        "VarianceScaling(scale=2.0, mode='fan_in', distribution='uniform', in_axis=-2, "
        "out_axis=-1, batch_axis=(), dtype=None)"
    )


def test_axes_normalized_when_built():
    built = jaxinit.variance_scaling(1, "fan_in", "normal", [0, 1], np.int64(2), [3])
    assert built.in_axis == (0, 1)
    assert built.out_axis == 2
    assert built.batch_axis == (3,)
    assert built.scale == 1.0
    assert hash(built) == hash(jaxinit.variance_scaling(1.0, "fan_in", "normal", (0, 1), 2, (3,)))


# Errors when built.


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"mode": "fan_inn"},
            ValueError,
            "variance_scaling: mode must be one of 'fan_in', 'fan_out', 'fan_avg', "
            "'fan_geo_avg', got 'fan_inn'.",
        ),
        (
            {"mode": "FAN_IN"},
            ValueError,
            "variance_scaling: mode must be one of 'fan_in', 'fan_out', 'fan_avg', "
            "'fan_geo_avg', got 'FAN_IN'.",
        ),
        (
            {"distribution": "gaussian"},
            ValueError,
            "variance_scaling: distribution must be one of 'normal', 'truncated_normal', "
            "'uniform', got 'gaussian'.",
        ),
        (
            {"distribution": None},
            ValueError,
            "variance_scaling: distribution must be one of 'normal', 'truncated_normal', "
            "'uniform', got None.",
        ),
        ({"scale": -1.0}, ValueError, "variance_scaling: scale must be non-negative, got -1.0."),
        ({"scale": float("nan")}, ValueError, "variance_scaling: scale must be finite, got nan."),
        ({"scale": float("inf")}, ValueError, "variance_scaling: scale must be finite, got inf."),
        ({"scale": "2"}, TypeError, "variance_scaling: scale must be a real number, got '2'."),
        ({"scale": True}, TypeError, "variance_scaling: scale must be a real number, got True."),
        (
            {"in_axis": jnp.bfloat16},
            TypeError,
            "variance_scaling: in_axis must be an int or a sequence of ints, "
            "got <class 'jax.numpy.bfloat16'>.",
        ),
        (
            {"out_axis": "-1"},
            TypeError,
            "variance_scaling: out_axis must be an int or a sequence of ints, got '-1'.",
        ),
        (
            {"batch_axis": None},
            TypeError,
            "variance_scaling: batch_axis must be an int or a sequence of ints, got None.",
        ),
        (
            {"batch_axis": (0, 1.0)},
            TypeError,
            "variance_scaling: batch_axis must be an int or a sequence of ints, got (0, 1.0).",
        ),
        (
            {"dtype": jnp.int32},
            TypeError,
            "variance_scaling: dtype must be None or a floating or complex dtype (such as "
            "float32 or bfloat16) because the scheme draws random values, got int32.",
        ),
    ],
)
def test_variance_scaling_rejected_when_built(kwargs, error, message):
    arguments = {"scale": 1.0, "mode": "fan_in", "distribution": "normal", **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        jaxinit.variance_scaling(**arguments)


def test_named_family_rejects_dtype_as_in_axis():
    message = (
        "variance_scaling: in_axis must be an int or a sequence of ints, "
        "got <class 'jax.numpy.float16'>."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.lecun_normal(jnp.float16)
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.fan_in_uniform(1.0, jnp.float16)


# Errors when called.

LABEL = "variance_scaling(mode='fan_in', distribution='normal')"


@pytest.mark.parametrize(
    "shape, axes, message",
    [
        (
            (4, 5),
            {"in_axis": 2},
            f"{LABEL}: in_axis=2 is out of range for a shape with 2 axes; "
            "accepted axes are -2 to 1.",
        ),
        (
            (4, 5, 6),
            {"batch_axis": -1},
            f"{LABEL}: out_axis and batch_axis must name different axes, but both name axis 2.",
        ),
        (
            (5,),
            {},
            f"{LABEL}: got shape (5,), but a fan-based scheme needs at least two axes (inputs "
            "and outputs); for a bias or other 1-D parameter use zeros, constant or normal "
            "instead.",
        ),
    ],
)
def test_variance_scaling_rejected_when_called(shape, axes, message):
    init = jaxinit.variance_scaling(1.0, "fan_in", "normal", **axes)
    with pytest.raises(ValueError, match=re.escape(message)):
        init(KEY, shape)


@pytest.mark.parametrize(
    "distribution, scale, dtype, message",
    [
        (
            "uniform",
            1e300,
            jnp.float32,
            "variance_scaling(mode='fan_in', distribution='uniform'): with scale=1e+300 and "
            "shape (4, 5), 3 * variance = 7.5e+299 overflows float32 (largest finite value "
            "3.403e+38); use a smaller scale or a wider dtype.",
        ),
        (
            "normal",
            1e300,
            jnp.float32,
            "variance_scaling(mode='fan_in', distribution='normal'): with scale=1e+300 and "
            "shape (4, 5), variance = 2.5e+299 overflows float32 (largest finite value "
            "3.403e+38); use a smaller scale or a wider dtype.",
        ),
        (
            "truncated_normal",
            4e9,
            jnp.float16,
            "variance_scaling(mode='fan_in', distribution='truncated_normal'): with "
            "scale=4000000000.0 and shape (4, 5), values can reach 7.19e+04 in magnitude, "
            "which overflows float16 (largest finite value 6.55e+04); use a smaller scale or "
            "a wider dtype.",
        ),
    ],
)
def test_variance_scaling_rejects_overflow(distribution, scale, dtype, message):
    init = jaxinit.variance_scaling(scale, "fan_in", distribution)
    with pytest.raises(ValueError, match=re.escape(message)):
        init(KEY, (4, 5), dtype)


def test_uniform_16_bit_stays_below_limit():
    shape = (400, 500)
    values = jaxinit.variance_scaling(2.0, "fan_in", "uniform")(KEY, shape, jnp.bfloat16)
    x = as_float64(values)
    limit = math.sqrt(3.0 * 2.0 / 400)
    assert x.max() < limit
    assert x.min() >= -limit * (1 + 2.0**-8)
    assert_mean(x, Moments(0.0, limit**2 / 3, limit**4 / 5))
