"""Tests for jaxinit.basic: constant schemes, normal, uniform and truncated_normal.

The random schemes are checked against their exact distributions (moments
within six standard errors and a KS test at one fixed key), against exact
bounds, and against ``jax.nn.initializers`` bit for bit in float32.
"""

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
    normal_moments,
    truncnorm_moments,
    uniform_moments,
)

import jaxinit

KEY = jax.random.key(0)
LEGACY_KEY = jax.random.PRNGKey(0)
N = 10**6
# The KS test uses the first KS_N values of a sample, because scipy's test on
# a million points costs more time than it adds power.
KS_N = 10**5


# Zeros, ones and constant.

DETERMINISTIC_DTYPES = [
    jnp.float32,
    jnp.bfloat16,
    jnp.float16,
    jnp.int32,
    jnp.uint8,
    jnp.bool_,
    jnp.complex64,
]


@pytest.mark.parametrize("dtype", DETERMINISTIC_DTYPES)
def test_zeros_and_ones_every_dtype(dtype):
    zeros = jaxinit.zeros(KEY, (3, 4), dtype)
    ones = jaxinit.ones(KEY, (3, 4), dtype)
    assert zeros.dtype == dtype
    assert ones.dtype == dtype
    assert bool(jnp.all(zeros == 0))
    assert bool(jnp.all(ones == 1))


@pytest.mark.parametrize(
    "value, dtype",
    [
        (-7, jnp.int32),
        (255, jnp.uint8),
        (3.0, jnp.int32),
        (True, jnp.bool_),
        (0, jnp.bool_),
        (0.1, jnp.float32),
        (0.1, jnp.bfloat16),
        (-65504.0, jnp.float16),
        (1.5 - 2j, jnp.complex64),
        (2.5, jnp.complex64),
    ],
)
def test_constant_fills_value(value, dtype):
    values = jaxinit.constant(value)(KEY, (2, 3), dtype)
    assert values.dtype == dtype
    assert bool(jnp.all(values == jnp.asarray(value).astype(dtype)))


def test_constant_normalizes_numpy_and_jax_scalars():
    assert jaxinit.constant(np.float32(0.5)) == jaxinit.constant(0.5)
    assert jaxinit.constant(jnp.array(2)) == jaxinit.constant(2)
    assert repr(jaxinit.constant(np.int64(3), jnp.int32)) == (
        "Constant(value=3, dtype=dtype('int32'))"
    )


def test_constant_dtype_field_default():
    assert jaxinit.constant(4, jnp.int32)(KEY, (2,)).dtype == jnp.int32


@pytest.mark.parametrize(
    "value, error, message",
    [
        (
            "1",
            TypeError,
            "constant: value must be a scalar number, got str; for an array-valued "
            "parameter, build the array directly.",
        ),
        (
            jnp.ones(2),
            TypeError,
            "constant: value must be a scalar number, got ArrayImpl; for an array-valued "
            "parameter, build the array directly.",
        ),
        (None, TypeError, "constant: value must be a scalar number, got NoneType;"),
        (float("nan"), ValueError, "constant: value must be finite, got nan."),
        (float("-inf"), ValueError, "constant: value must be finite, got -inf."),
        (complex(1, float("inf")), ValueError, "constant: value must be finite, got (1+infj)."),
    ],
)
def test_constant_rejected_when_built(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        jaxinit.constant(value)


@pytest.mark.parametrize(
    "value, dtype, error, message",
    [
        (
            1 + 2j,
            jnp.float32,
            TypeError,
            "constant: value (1+2j) is complex, but dtype float32 is real; "
            "use a complex dtype such as complex64.",
        ),
        (
            3.5,
            jnp.int32,
            ValueError,
            "constant: value 3.5 is not a whole number, so it cannot fill an integer "
            "array of dtype int32.",
        ),
        (
            300,
            jnp.uint8,
            ValueError,
            "constant: value 300 is out of range for uint8, whose range is 0 to 255; "
            "use a wider integer dtype.",
        ),
        (
            -1,
            jnp.uint8,
            ValueError,
            "constant: value -1 is out of range for uint8, whose range is 0 to 255; "
            "use a wider integer dtype.",
        ),
        (
            2**40,
            jnp.int32,
            ValueError,
            "constant: value 1099511627776 is out of range for int32, whose range is "
            "-2147483648 to 2147483647; use a wider integer dtype.",
        ),
        (
            2,
            jnp.bool_,
            ValueError,
            "constant: value 2 is not 0, 1, True or False, so it cannot fill a boolean array.",
        ),
        (
            1e5,
            jnp.float16,
            ValueError,
            "constant: value 100000.0 overflows float16, whose largest finite value is "
            "6.55e+04; use a wider dtype or a smaller value.",
        ),
        (
            1e39,
            jnp.float32,
            ValueError,
            "constant: value 1e+39 overflows float32, whose largest finite value is "
            "3.403e+38; use a wider dtype or a smaller value.",
        ),
        (
            500.0,
            jnp.float8_e4m3fn,
            ValueError,
            "constant: value 500.0 overflows float8_e4m3fn, whose largest finite value "
            "is 448; use a wider dtype or a smaller value.",
        ),
    ],
)
def test_constant_rejected_when_called(value, dtype, error, message):
    init = jaxinit.constant(value)
    with pytest.raises(error, match=re.escape(message)):
        init(KEY, (2,), dtype)


# Equality with jax.nn.initializers in float32, against JAX's eager call.

JAX_PAIRS = {
    "zeros": (jaxinit.zeros, jax.nn.initializers.zeros),
    "ones": (jaxinit.ones, jax.nn.initializers.ones),
    "constant": (jaxinit.constant(-0.75), jax.nn.initializers.constant(-0.75)),
    "normal": (jaxinit.normal(), jax.nn.initializers.normal()),
    "normal_0.3": (jaxinit.normal(0.3), jax.nn.initializers.normal(0.3)),
    "uniform": (jaxinit.uniform(), jax.nn.initializers.uniform()),
    "uniform_2.5": (jaxinit.uniform(2.5), jax.nn.initializers.uniform(2.5)),
    "truncated_normal": (jaxinit.truncated_normal(), jax.nn.initializers.truncated_normal()),
    # Bounds whose erf a compiled sampler would constant-fold differently
    # from JAX's eager call, which moves the last bit of most values.
    "truncated_normal_bounds": (
        jaxinit.truncated_normal(0.5, lower=-2.0, upper=1.5),
        jax.nn.initializers.truncated_normal(0.5, lower=-2.0, upper=1.5),
    ),
    "truncated_normal_one_sided": (
        jaxinit.truncated_normal(1.0, lower=-1.0, upper=float("inf")),
        jax.nn.initializers.truncated_normal(1.0, lower=-1.0, upper=float("inf")),
    ),
}


# Every pair on a dense shape with both key kinds, and the three random
# namesakes on a 1-D and a 3-D shape. Each case compiles both samplers, so
# rank-4 conv shapes, which XLA's CPU backend compiles in several seconds,
# are left to test_variance.
FAST_LEGACY = ("zeros", "truncated_normal")
JAX_CASES = (
    [(name, (64, 32), "typed") for name in JAX_PAIRS]
    + [
        pytest.param(
            name, (64, 32), "legacy", marks=() if name in FAST_LEGACY else pytest.mark.slow
        )
        for name in JAX_PAIRS
    ]
    + [
        pytest.param(
            name,
            shape,
            "typed",
            marks=() if (name, len(shape)) == ("truncated_normal", 3) else pytest.mark.slow,
        )
        for name in ("normal", "uniform", "truncated_normal")
        for shape in ((7,), (3, 16, 24))
    ]
)


@pytest.mark.parametrize("name, shape, key_kind", JAX_CASES)
def test_float32_equals_jax_initializer(name, shape, key_kind):
    ours, theirs = JAX_PAIRS[name]
    key = KEY if key_kind == "typed" else LEGACY_KEY
    expected = theirs(key, shape, jnp.float32)
    values = ours(key, shape, jnp.float32)
    assert values.dtype == expected.dtype
    assert bool(jnp.array_equal(values, expected))


# normal.


@pytest.mark.parametrize("stddev, mean", [(1.0, 0.0), (0.02, 0.0), (0.05, -0.5), (3.0, 2.0)])
def test_normal_moments_and_ks(stddev, mean):
    values = jaxinit.normal(stddev, mean=mean)(KEY, (N,))
    moments = normal_moments(mean, stddev)
    assert_moments(values, moments)
    assert_ks(values[:KS_N], scipy.stats.norm(mean, stddev).cdf)


def test_normal_complex_splits_variance():
    stddev = 0.5
    values = np.asarray(jaxinit.normal(stddev)(KEY, (N,), jnp.complex64))
    half = normal_moments(0.0, stddev / np.sqrt(2.0))
    assert_moments(values.real, half)
    assert_moments(values.imag, half)
    # |w|**2 is exponential with mean stddev**2, whose variance is stddev**4.
    squared = Moments(stddev**2, stddev**4, 9.0 * stddev**8)
    assert_mean(np.abs(values) ** 2, squared)


def test_normal_zero_stddev_gives_mean():
    values = jaxinit.normal(0.0, mean=1.5)(KEY, (100,))
    assert bool(jnp.all(values == 1.5))


# uniform.


@pytest.mark.parametrize("scale", [1e-2, 0.5, 3.0])
def test_uniform_scale_form_bounds_moments_ks(scale):
    values = jaxinit.uniform(scale)(KEY, (N,))
    x = as_float64(values)
    assert x.min() >= 0.0
    assert x.max() < scale
    assert_moments(x, uniform_moments(0.0, scale))
    assert_ks(x[:KS_N], scipy.stats.uniform(0.0, scale).cdf)


@pytest.mark.parametrize("minval, maxval", [(-0.05, 0.05), (0.1, 0.3), (-2.0, -1.0)])
def test_uniform_range_form_bounds_moments_ks(minval, maxval):
    values = jaxinit.uniform(minval=minval, maxval=maxval)(KEY, (N,))
    x = as_float64(values)
    assert x.min() >= minval
    assert x.max() < maxval
    assert_moments(x, uniform_moments(minval, maxval))
    assert_ks(x[:KS_N], scipy.stats.uniform(minval, maxval - minval).cdf)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("minval, maxval", [(0.0, 1.0), (0.1, 0.3), (-1.0, 1.0)])
def test_uniform_16_bit_stays_in_half_open_range(minval, maxval, dtype):
    values = jaxinit.uniform(minval=minval, maxval=maxval)(KEY, (N,), dtype)
    x = as_float64(values)
    assert values.dtype == dtype
    assert x.min() >= minval
    assert x.max() < maxval
    assert_mean(x, uniform_moments(minval, maxval))


def test_uniform_narrow_float32_range_stays_below_maxval():
    # The range is a handful of float32 steps wide, so scaling a unit sample
    # rounds many values onto maxval unless they are clipped.
    minval, maxval = 1.0, 1.0000005
    values = as_float64(jaxinit.uniform(minval=minval, maxval=maxval)(KEY, (10**5,)))
    assert values.min() >= minval
    assert values.max() < maxval


def test_uniform_repr_of_both_forms():
    assert repr(jaxinit.uniform(0.5)) == "Uniform(minval=0.0, maxval=0.5, dtype=None)"
    assert repr(jaxinit.uniform(minval=-1, maxval=1)) == (
        "Uniform(minval=-1.0, maxval=1.0, dtype=None)"
    )


# truncated_normal.


@pytest.mark.parametrize("stddev", [0.02, 1e-3, 1e-10])
def test_truncated_normal_default_bounds(stddev):
    values = jaxinit.truncated_normal(stddev)(KEY, (N,))
    x = as_float64(values)
    # The sampler multiplies by stddev rounded to float32; rounding is
    # monotonic, so 2 * that value (exact in float32) bounds every sample.
    scale = float(np.float32(stddev))
    assert np.abs(x).max() <= 2.0 * scale
    moments = truncnorm_moments(-2.0, 2.0, scale)
    assert np.sqrt(moments.variance) / scale == pytest.approx(0.87962566103423978, rel=1e-12)
    assert_moments(x, moments)
    assert_ks(x[:KS_N], scipy.stats.truncnorm(-2.0, 2.0, scale=scale).cdf)


TRUNCATED_CASES = [
    # lower, upper, stddev, mean
    (-1.0, 3.0, 0.5, 0.0),
    (0.0, float("inf"), 1.0, 0.0),
    (-float("inf"), -2.5, 1.0, 0.0),
    (-float("inf"), float("inf"), 0.1, 0.25),
    (-2.0, 2.0, 0.05, -0.5),
    # Intervals on one side beyond two standard deviations use the tail sampler.
    (3.0, 5.0, 1.0, 0.0),
    (-6.0, -5.0, 2.0, 1.0),
    (10.0, float("inf"), 1.0, 0.0),
]


@pytest.mark.parametrize("lower, upper, stddev, mean", TRUNCATED_CASES)
def test_truncated_normal_bounds_moments_ks(lower, upper, stddev, mean):
    values = jaxinit.truncated_normal(stddev, lower=lower, upper=upper, mean=mean)(KEY, (N,))
    x = as_float64(values)
    f32 = np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        low = float(f32(f32(lower) * f32(stddev)) + f32(mean))
        high = float(f32(f32(upper) * f32(stddev)) + f32(mean))
    assert np.isfinite(x).all()
    assert x.min() >= low
    assert x.max() <= high
    assert_moments(x, truncnorm_moments(lower, upper, stddev, mean))
    cdf = scipy.stats.truncnorm(lower, upper, loc=mean, scale=stddev).cdf
    assert_ks(x[:KS_N], cdf)


def test_truncated_normal_float64_far_tail():
    with jax.enable_x64(True):
        values = jaxinit.truncated_normal(1.0, lower=20.0, upper=21.0)(KEY, (10**5,), jnp.float64)
    x = as_float64(values)
    assert x.min() >= 20.0
    assert x.max() <= 21.0
    assert_moments(x, truncnorm_moments(20.0, 21.0, 1.0))


def test_truncated_normal_infinite_bounds_never_return_huge_values():
    # A unit-uniform draw of exactly -1 would map to -inf and be clipped to the
    # largest float; no normal sample exceeds about 5.8 in float32.
    values = jaxinit.truncated_normal(1.0, lower=-float("inf"), upper=float("inf"))(KEY, (N,))
    assert float(jnp.abs(values).max()) < 5.8


def test_truncated_normal_interval_with_too_little_mass():
    message = (
        "truncated_normal: the interval from lower=-inf to upper=-12.0 standard deviations "
        "holds probability 1.78e-33 under the normal distribution, too little to sample "
        "in float32; move the bounds towards the mean or sample in float64."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.truncated_normal(1.0, lower=-float("inf"), upper=-12.0)(KEY, (4,))


# Builder errors, raised when the scheme is built.


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: jaxinit.normal(-1.0),
            ValueError,
            "normal: stddev must be non-negative, got -1.0.",
        ),
        (
            lambda: jaxinit.normal(float("nan")),
            ValueError,
            "normal: stddev must be finite, got nan.",
        ),
        (lambda: jaxinit.normal("1"), TypeError, "normal: stddev must be a real number, got '1'."),
        (
            lambda: jaxinit.normal(True),
            TypeError,
            "normal: stddev must be a real number, got True.",
        ),
        (
            lambda: jaxinit.normal(mean=float("inf")),
            ValueError,
            "normal: mean must be finite, got inf.",
        ),
        (lambda: jaxinit.normal(mean=1j), TypeError, "normal: mean must be a real number, got 1j."),
        (lambda: jaxinit.uniform(0.0), ValueError, "uniform: scale must be positive, got 0.0."),
        (lambda: jaxinit.uniform(-1.0), ValueError, "uniform: scale must be positive, got -1.0."),
        (
            lambda: jaxinit.uniform(float("inf")),
            ValueError,
            "uniform: scale must be finite, got inf.",
        ),
        (lambda: jaxinit.uniform("a"), TypeError, "uniform: scale must be a real number, got 'a'."),
        (
            lambda: jaxinit.uniform(minval=1.0),
            ValueError,
            "uniform: the range form needs both minval and maxval, got minval=1.0 and maxval=None.",
        ),
        (
            lambda: jaxinit.uniform(maxval=1.0),
            ValueError,
            "uniform: the range form needs both minval and maxval, got minval=None and maxval=1.0.",
        ),
        (
            lambda: jaxinit.uniform(0.5, minval=-1.0, maxval=1.0),
            ValueError,
            "uniform: pass either scale or minval and maxval, not both; got scale=0.5.",
        ),
        (
            lambda: jaxinit.uniform(minval=1.0, maxval=1.0),
            ValueError,
            "uniform: minval must be smaller than maxval, got minval=1.0 and maxval=1.0.",
        ),
        (
            lambda: jaxinit.uniform(minval="0", maxval=1.0),
            TypeError,
            "uniform: minval must be a real number, got '0'.",
        ),
        (
            lambda: jaxinit.uniform(minval=0.0, maxval=float("nan")),
            ValueError,
            "uniform: maxval must be finite, got nan.",
        ),
        (
            lambda: jaxinit.truncated_normal(-0.5),
            ValueError,
            "truncated_normal: stddev must be non-negative, got -0.5.",
        ),
        (
            lambda: jaxinit.truncated_normal(lower=2.0, upper=-2.0),
            ValueError,
            "truncated_normal: lower must be smaller than upper, got lower=2.0 and upper=-2.0.",
        ),
        (
            lambda: jaxinit.truncated_normal(lower=float("nan")),
            ValueError,
            "truncated_normal: lower must not be nan.",
        ),
        (
            lambda: jaxinit.truncated_normal(upper="2"),
            TypeError,
            "truncated_normal: upper must be a real number, got '2'.",
        ),
        (
            lambda: jaxinit.truncated_normal(mean=float("nan")),
            ValueError,
            "truncated_normal: mean must be finite, got nan.",
        ),
    ],
)
def test_builder_rejects_bad_argument(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


def test_truncated_normal_bounds_accept_scalar_arrays():
    built = jaxinit.truncated_normal(lower=jnp.array(-1.0), upper=np.float32(3.0))
    assert built == jaxinit.truncated_normal(lower=-1.0, upper=3.0)


# Overflow, rejected when called.


@pytest.mark.parametrize(
    "init, dtype, message",
    [
        (
            jaxinit.normal(1e38),
            jnp.float32,
            "normal: with stddev=1e+38 and mean=0.0, values can reach 5.768e+38 in magnitude, "
            "which overflows float32 (largest finite value 3.403e+38); use a smaller scale "
            "or a wider dtype.",
        ),
        (
            jaxinit.normal(2e4),
            jnp.float16,
            "normal: with stddev=20000.0 and mean=0.0, values can reach 1.154e+05 in "
            "magnitude, which overflows float16 (largest finite value 6.55e+04); use a "
            "smaller scale or a wider dtype.",
        ),
        (
            jaxinit.uniform(minval=-3e38, maxval=3e38),
            jnp.float32,
            "uniform: with minval=-3e+38 and maxval=3e+38, values can reach 6e+38 in "
            "magnitude, which overflows float32 (largest finite value 3.403e+38); use a "
            "smaller scale or a wider dtype.",
        ),
        (
            jaxinit.truncated_normal(1e5),
            jnp.float16,
            "truncated_normal: with stddev=100000.0, mean=0.0, lower=-2.0 and upper=2.0, "
            "values can reach 2e+05 in magnitude, which overflows float16 (largest finite "
            "value 6.55e+04); use a smaller scale or a wider dtype.",
        ),
    ],
)
def test_random_scheme_rejects_overflowing_dtype(init, dtype, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        init(KEY, (4,), dtype)


def test_uniform_range_without_representable_value():
    message = (
        "uniform: no bfloat16 value lies in [minval, maxval) with minval=1.001 and "
        "maxval=1.002; widen the range or use a wider dtype."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.uniform(minval=1.001, maxval=1.002)(KEY, (4,), jnp.bfloat16)
