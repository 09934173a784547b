import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxinit.basic import normal, ones, uniform
from jaxinit.combinators import PerSlice, Scaled, per_slice, scaled
from jaxinit.core import Initializer
from jaxinit.structured import identity
from jaxinit.variance import (
    fan_in_normal,
    fan_out_normal,
    glorot_uniform,
    he_normal,
    lecun_normal,
)

# Second and fourth moments of a unit normal truncated to (-2, 2), for the
# standard error of a sample variance: Var(s^2) = (m4 - m2^2) / n.
_TRUNCATED = stats.truncnorm(-2.0, 2.0)
_TRUNCATED_M2 = _TRUNCATED.moment(2)
_TRUNCATED_M4 = _TRUNCATED.moment(4)


def _assert_variance(values, variance, fourth_moment_ratio):
    """Assert the sample variance of ``values`` is ``variance`` within 6 standard errors.

    ``fourth_moment_ratio`` is E[x^4] / E[x^2]^2 of the distribution (3 for a
    normal), so the standard error is ``variance * sqrt((ratio - 1) / n)``.
    """
    sample = np.asarray(values, np.float64).ravel()
    standard_error = variance * math.sqrt((fourth_moment_ratio - 1) / sample.size)
    assert abs(sample.var() - variance) < 6 * standard_error


def _assert_mean_zero(values, variance):
    sample = np.asarray(values, np.float64).ravel()
    assert abs(sample.mean()) < 6 * math.sqrt(variance / sample.size)


# per_slice


def test_per_slice_qkv_equals_slices_drawn_separately():
    init = lecun_normal()
    key = jax.random.key(0)

    fused = per_slice(init, sections=3)(key, (64, 3 * 32))
    keys = jax.random.split(key, 3)
    separate = jnp.concatenate([init(slice_key, (64, 32)) for slice_key in keys], axis=-1)

    np.testing.assert_array_equal(np.asarray(fused), np.asarray(separate))


def test_per_slice_qkv_lecun_std_per_slice():
    fused = per_slice(lecun_normal(), sections=3)(jax.random.key(1), (256, 3 * 256))

    variance = 1 / 256
    ratio = _TRUNCATED_M4 / _TRUNCATED_M2**2
    for index in range(3):
        part = fused[:, index * 256 : (index + 1) * 256]
        _assert_variance(part, variance, ratio)
        _assert_mean_zero(part, variance)


def test_per_slice_slices_are_independent():
    fused = per_slice(lecun_normal(), sections=3)(jax.random.key(2), (256, 3 * 256))
    parts = [np.asarray(fused[:, i * 256 : (i + 1) * 256], np.float64).ravel() for i in range(3)]

    n = parts[0].size
    for first, second in ((0, 1), (0, 2), (1, 2)):
        assert not np.array_equal(parts[first], parts[second])
        # The sample correlation of independent samples has standard error 1/sqrt(n).
        correlation = np.corrcoef(parts[first], parts[second])[0, 1]
        assert abs(correlation) < 6 / math.sqrt(n)


def test_per_slice_fan_out_uses_slice_width():
    fused = per_slice(fan_out_normal(), sections=4)(jax.random.key(3), (128, 4 * 128))

    # Drawn whole, the variance would be 1 / 512; each slice has fan_out 128.
    for index in range(4):
        part = fused[:, index * 128 : (index + 1) * 128]
        _assert_variance(part, 1 / 128, 3.0)


def test_per_slice_glorot_bound_per_slice_sizes():
    sizes = (16, 48)
    fused = per_slice(glorot_uniform(), sections=sizes)(jax.random.key(4), (32, 64))

    first, second = np.asarray(fused[:, :16]), np.asarray(fused[:, 16:])
    first_bound, second_bound = math.sqrt(6 / (32 + 16)), math.sqrt(6 / (32 + 48))
    assert np.abs(first).max() < first_bound
    assert np.abs(first).max() > 0.95 * first_bound
    assert np.abs(second).max() < second_bound
    whole_bound = math.sqrt(6 / (32 + 64))
    assert np.abs(first).max() > whole_bound


def test_per_slice_sizes_equal_separate_draws():
    init = glorot_uniform()
    key = jax.random.key(5)

    fused = per_slice(init, sections=[8, 24])(key, (16, 32))
    first_key, second_key = jax.random.split(key, 2)
    separate = jnp.concatenate([init(first_key, (16, 8)), init(second_key, (16, 24))], axis=-1)

    np.testing.assert_array_equal(np.asarray(fused), np.asarray(separate))


def test_per_slice_bfloat16_keeps_each_slice_bound():
    fused = per_slice(glorot_uniform(), sections=(16, 48))(
        jax.random.key(6), (32, 64), jnp.bfloat16
    )

    assert fused.dtype == jnp.bfloat16
    for part, width in ((fused[:, :16], 16), (fused[:, 16:], 48)):
        bound = math.sqrt(6 / (32 + width))
        values = np.asarray(part.astype(jnp.float32))
        assert values.max() < bound
        assert values.min() >= -bound


def test_per_slice_stacked_kernels_axis_zero():
    stacked = per_slice(he_normal(), axis=0, sections=5)(jax.random.key(7), (5, 100, 200))

    variance = 2 / 100
    ratio = _TRUNCATED_M4 / _TRUNCATED_M2**2
    for index in range(5):
        _assert_variance(stacked[index], variance, ratio)
    assert not np.array_equal(np.asarray(stacked[0]), np.asarray(stacked[1]))


def test_per_slice_single_section_equals_inner():
    key = jax.random.key(8)

    np.testing.assert_array_equal(
        np.asarray(per_slice(lecun_normal(), sections=1)(key, (16, 8))),
        np.asarray(lecun_normal()(key, (16, 8))),
    )


def test_per_slice_deterministic_inner_any_dtype():
    init = per_slice(identity(), sections=2)

    values = init(jax.random.key(0), (4, 8), jnp.int32)

    expected = np.concatenate([np.eye(4, dtype=np.int32)] * 2, axis=-1)
    np.testing.assert_array_equal(np.asarray(values), expected)
    assert not init.random


def test_per_slice_value_semantics():
    first = per_slice(lecun_normal(), sections=[32, 64])
    second = per_slice(lecun_normal(), -1, sections=(32, 64))

    assert first == second
    assert hash(first) == hash(second)
    assert first.sections == (32, 64)
    assert repr(first).startswith("PerSlice(init=VarianceScaling(")
    assert isinstance(first, PerSlice)


def test_per_slice_sections_not_dividing_axis():
    init = per_slice(lecun_normal(), sections=3)
    message = (
        "per_slice: axis -1 of shape (8, 100) has length 100, which does not split into "
        "sections=3 equal slices; pass a length divisible by 3 or a tuple of slice sizes."
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        init(jax.random.key(0), (8, 100))


def test_per_slice_sizes_not_summing_to_axis():
    init = per_slice(lecun_normal(), sections=(32, 32))
    message = (
        "per_slice: sections (32, 32) sum to 64, but axis -1 of shape (8, 96) has length 96; "
        "the sizes must sum to the axis length."
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        init(jax.random.key(0), (8, 96))


def test_per_slice_axis_out_of_range():
    init = per_slice(lecun_normal(), axis=2, sections=2)
    message = (
        "per_slice: axis=2 is out of range for a shape with 2 axes; accepted axes are -2 to 1."
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        init(jax.random.key(0), (8, 96))


def test_per_slice_inner_shape_error_propagates():
    init = per_slice(lecun_normal(), sections=2)

    with pytest.raises(ValueError, match=r"needs at least two axes"):
        init(jax.random.key(0), (8,))


@pytest.mark.parametrize(
    ("sections", "error", "message"),
    [
        (0, ValueError, "per_slice: sections must be an int >= 1, got 0."),
        ((8, 0), ValueError, "per_slice: every size in sections must be an int >= 1, got (8, 0)."),
        (
            "3",
            TypeError,
            "per_slice: sections must be an int (a number of equal slices) or a non-empty "
            "sequence of slice sizes, got '3'.",
        ),
        (
            (),
            TypeError,
            "per_slice: sections must be an int (a number of equal slices) or a non-empty "
            "sequence of slice sizes, got ().",
        ),
        (
            (2.0, 3.0),
            TypeError,
            "per_slice: sections must be an int (a number of equal slices) or a non-empty "
            "sequence of slice sizes, got (2.0, 3.0).",
        ),
        (
            True,
            TypeError,
            "per_slice: sections must be an int (a number of equal slices) or a non-empty "
            "sequence of slice sizes, got True.",
        ),
    ],
)
def test_per_slice_bad_sections(sections, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        per_slice(lecun_normal(), sections=sections)


def test_per_slice_bad_axis_and_init():
    with pytest.raises(TypeError, match=r"^per_slice: axis must be an int, got 1\.5\.$"):
        per_slice(lecun_normal(), axis=1.5, sections=2)

    message = (
        "per_slice: init must be a jaxinit Initializer such as lecun_normal(), got function; "
        "use jaxinit.get to build one from a name or config."
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        per_slice(jax.nn.initializers.lecun_normal(), sections=2)


# scaled


def test_scaled_equals_inner_times_factor():
    init = fan_in_normal()
    key = jax.random.key(10)

    values = scaled(init, 0.1)(key, (400, 300))

    np.testing.assert_array_equal(
        np.asarray(values), np.asarray(init(key, (400, 300)) * np.float32(0.1))
    )


def test_scaled_std_is_factor_times_inner():
    values = scaled(fan_in_normal(), 0.1)(jax.random.key(11), (400, 300))

    variance = 0.1**2 / 400
    _assert_variance(values, variance, 3.0)
    _assert_mean_zero(values, variance)


def test_scaled_bfloat16_std():
    values = scaled(fan_in_normal(), 0.5)(jax.random.key(12), (400, 300), jnp.bfloat16)

    assert values.dtype == jnp.bfloat16
    _assert_variance(values.astype(jnp.float32), 0.25 / 400, 3.0)


def test_scaled_negative_and_zero_factor():
    init = normal(1.0)
    key = jax.random.key(13)

    np.testing.assert_array_equal(
        np.asarray(scaled(init, -1.0)(key, (64,))), -np.asarray(init(key, (64,)))
    )
    np.testing.assert_array_equal(np.asarray(scaled(init, 0.0)(key, (64,))), np.zeros(64))


def test_scaled_keeps_inner_uniform_bound():
    values = scaled(uniform(minval=-1.0, maxval=1.0), 0.5)(jax.random.key(14), (100_000,))

    assert float(values.max()) < 0.5
    assert float(values.min()) >= -0.5
    # U(-0.5, 0.5) has variance 1/12 and E[x^4] / E[x^2]^2 = 9/5.
    _assert_variance(values, 1 / 12, 9 / 5)


def test_scaled_deterministic_inner_integer_dtype():
    values = scaled(ones, 3.0)(jax.random.key(0), (2, 3), jnp.int32)

    np.testing.assert_array_equal(np.asarray(values), np.full((2, 3), 3, np.int32))
    assert values.dtype == jnp.int32


def test_scaled_follows_inner_dtype_kinds():
    assert not scaled(ones, 2.0).random
    assert scaled(lecun_normal(), 2.0).random
    assert scaled(lecun_normal(), 2.0).allow_complex
    assert not scaled(uniform(), 2.0).allow_complex

    values = scaled(normal(1.0), 2.0)(jax.random.key(0), (4, 4), jnp.complex64)
    assert values.dtype == jnp.complex64


def test_scaled_uses_inner_default_dtype():
    values = scaled(normal(1.0, jnp.bfloat16), 2.0)(jax.random.key(0), (8,))

    assert values.dtype == jnp.bfloat16


def test_scaled_random_inner_rejects_integer_dtype():
    message = (
        "Scaled draws random values, so it accepts only floating or complex dtypes "
        "(such as float32 or bfloat16), got int32."
    )

    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        scaled(lecun_normal(), 2.0)(jax.random.key(0), (4, 4), jnp.int32)


def test_scaled_uniform_inner_rejects_complex_dtype():
    with pytest.raises(
        TypeError, match=r"^Scaled draws random values, so it accepts only floating"
    ):
        scaled(uniform(), 2.0)(jax.random.key(0), (4, 4), jnp.complex64)


def test_scaled_fractional_factor_integer_dtype():
    message = (
        "scaled: factor 2.5 is not a whole number, so it cannot scale an integer array of "
        "dtype int32."
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        scaled(ones, 2.5)(jax.random.key(0), (2,), jnp.int32)


def test_scaled_boolean_dtype():
    message = "scaled: a boolean array cannot be scaled, got dtype bool; use a numeric dtype."

    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        scaled(ones, 1.0)(jax.random.key(0), (2,), jnp.bool_)


def test_scaled_factor_overflowing_dtype():
    message = (
        "scaled: factor 1e+30 overflows float16 (largest finite value 6.55e+04); "
        "use a smaller factor or a wider dtype."
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        scaled(normal(1.0), 1e30)(jax.random.key(0), (2,), jnp.float16)


@pytest.mark.parametrize(
    ("factor", "error", "message"),
    [
        (math.nan, ValueError, "scaled: factor must be finite, got nan."),
        (math.inf, ValueError, "scaled: factor must be finite, got inf."),
        ("2", TypeError, "scaled: factor must be a real number, got '2'."),
        (True, TypeError, "scaled: factor must be a real number, got True."),
        (1j, TypeError, "scaled: factor must be a real number, got 1j."),
    ],
)
def test_scaled_bad_factor(factor, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        scaled(lecun_normal(), factor)


def test_scaled_bad_init():
    message = (
        "scaled: init must be a jaxinit Initializer such as lecun_normal(), got str; "
        "use jaxinit.get to build one from a name or config."
    )

    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        scaled("lecun_normal", 2.0)


def test_scaled_value_semantics():
    first = scaled(per_slice(lecun_normal(), sections=3), 0.5)
    second = scaled(per_slice(lecun_normal(), sections=3), 0.5)

    assert first == second
    assert hash(first) == hash(second)
    assert first != scaled(per_slice(lecun_normal(), sections=3), 0.25)
    assert isinstance(first, Scaled)
    assert isinstance(first, Initializer)
    assert repr(first) == (
        "Scaled(init=PerSlice(init=VarianceScaling(scale=1.0, mode='fan_in', "
        "distribution='truncated_normal', in_axis=-2, out_axis=-1, batch_axis=(), dtype=None), "
        "sections=3, axis=-1), factor=0.5)"
    )
