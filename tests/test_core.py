"""Tests for jaxinit.core: call normalization, error messages, the jit cache and sharding."""

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxinit
from jaxinit import core
from jaxinit.core import _sample_compiled

KEY = jax.random.key(0)
LEGACY_KEY = jax.random.PRNGKey(0)
SHAPE = (16, 8)


def _schemes():
    """A few schemes that cover every sampling path, built with their defaults."""
    return {
        "normal": jaxinit.normal(0.5, mean=0.25),
        "uniform": jaxinit.uniform(minval=-1.0, maxval=3.0),
        "truncated_normal": jaxinit.truncated_normal(0.5, lower=-1.0, upper=3.0),
        "lecun_normal": jaxinit.lecun_normal(),
        "glorot_uniform": jaxinit.glorot_uniform(),
        "fan_avg_normal": jaxinit.fan_avg_normal(2.0),
    }


SCHEMES = _schemes()


# Shape normalization.


@pytest.mark.parametrize(
    "shape, expected",
    [
        (5, (5,)),
        ([3, 4], (3, 4)),
        ((np.int64(2), np.int32(3)), (2, 3)),
        (np.array([2, 3]), (2, 3)),
        ((), ()),
    ],
)
def test_shape_normalized_to_tuple_of_ints(shape, expected):
    values = jaxinit.normal()(KEY, shape)
    assert values.shape == expected


@pytest.mark.parametrize(
    "shape, error",
    [
        ((2.0,), TypeError),
        ((True, 2), TypeError),
        (None, TypeError),
        ("ab", TypeError),
        ((-1, 3), ValueError),
    ],
)
def test_shape_rejected_with_message(shape, error):
    message = f"Normal: shape must be a sequence of non-negative ints, got {shape!r}."
    with pytest.raises(error, match=re.escape(message)):
        jaxinit.normal()(KEY, shape)


# Dtype normalization.


def test_default_dtype_float32():
    assert jaxinit.normal()(KEY, SHAPE).dtype == jnp.float32
    assert jaxinit.zeros(KEY, SHAPE).dtype == jnp.float32


def test_default_dtype_float64_with_x64():
    with jax.enable_x64(True):
        assert jaxinit.normal()(KEY, SHAPE).dtype == jnp.float64
        assert jaxinit.lecun_normal()(KEY, SHAPE).dtype == jnp.float64
        assert jaxinit.ones(KEY, SHAPE).dtype == jnp.float64


@pytest.mark.parametrize(
    "requested, expected",
    [
        (jnp.float64, jnp.float32),
        (np.complex128, jnp.complex64),
        (float, jnp.float32),
    ],
)
def test_float64_without_x64_gives_float32(requested, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = jaxinit.normal()(KEY, SHAPE, requested)
    assert values.dtype == expected


@pytest.mark.parametrize(
    "requested, expected", [(jnp.int64, jnp.int32), (np.uint64, jnp.uint32), (int, jnp.int32)]
)
def test_int64_without_x64_gives_int32(requested, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zeros = jaxinit.zeros(KEY, SHAPE, requested)
        empty = jaxinit.ones(KEY, (0, 3), requested)
        filled = jaxinit.constant(7)(KEY, SHAPE, requested)
    assert zeros.dtype == expected
    assert empty.dtype == expected
    assert filled.dtype == expected
    assert int(filled[0, 0]) == 7


@pytest.mark.parametrize("name", ["bfloat16", "float16", jnp.bfloat16, np.dtype("float32")])
def test_dtype_spellings_accepted(name):
    assert jaxinit.normal()(KEY, SHAPE, name).dtype == np.dtype(name)


def test_dtype_not_a_dtype_rejected():
    message = "Normal: dtype must be a NumPy or JAX dtype, got 'not-a-dtype'."
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.normal()(KEY, SHAPE, "not-a-dtype")


@pytest.mark.parametrize("dtype, shown", [(object, "object"), ("U3", "<U3")])
def test_dtype_non_numeric_rejected(dtype, shown):
    message = f"Zeros: dtype must be a numeric or boolean dtype, got {shown}."
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.zeros(KEY, SHAPE, dtype)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, jnp.bool_])
def test_random_scheme_rejects_integer_and_bool(dtype):
    shown = np.dtype(dtype)
    message = (
        "Normal draws random values, so it accepts only floating or complex dtypes "
        f"(such as float32 or bfloat16), got {shown}."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.normal()(KEY, SHAPE, dtype)


def test_real_only_scheme_rejects_complex():
    message = (
        "Uniform draws random values, so it accepts only floating dtypes "
        "(such as float32 or bfloat16), got complex64."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.uniform()(KEY, SHAPE, jnp.complex64)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, jnp.bool_, jnp.complex64])
def test_deterministic_scheme_accepts_every_numeric_dtype(dtype):
    values = jaxinit.ones(KEY, SHAPE, dtype)
    assert values.dtype == dtype
    assert bool(jnp.all(values == 1))


def test_sampling_dtype_rounds_16_bit_floats_from_float32():
    assert core.sampling_dtype(np.dtype(jnp.bfloat16)) == np.float32
    assert core.sampling_dtype(np.dtype(jnp.float16)) == np.float32
    assert core.sampling_dtype(np.dtype(jnp.float8_e4m3fn)) == np.float32
    assert core.sampling_dtype(np.dtype(np.float32)) == np.float32
    assert core.sampling_dtype(np.dtype(np.float64)) == np.float64
    assert core.sampling_dtype(np.dtype(np.complex64)) == np.complex64


# Dtype fields of the schemes, checked when they are built.


@pytest.mark.parametrize(
    "build, scheme",
    [
        (lambda dtype: jaxinit.normal(dtype=dtype), "normal"),
        (lambda dtype: jaxinit.uniform(dtype=dtype), "uniform"),
        (lambda dtype: jaxinit.truncated_normal(dtype=dtype), "truncated_normal"),
        (lambda dtype: jaxinit.lecun_normal(dtype=dtype), "variance_scaling"),
    ],
)
def test_dtype_field_integer_rejected_when_built(build, scheme):
    accepted = "a floating dtype"
    if scheme in ("normal", "variance_scaling"):
        accepted = "a floating or complex dtype"
    message = (
        f"{scheme}: dtype must be None or {accepted} (such as float32 or bfloat16) "
        "because the scheme draws random values, got int32."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        build(jnp.int32)


def test_dtype_field_unknown_rejected_when_built():
    message = "constant: dtype must be None or a dtype, got 'not-a-dtype'."
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.constant(1.0, dtype="not-a-dtype")


def test_dtype_field_non_numeric_rejected_when_built():
    message = "variance_scaling: dtype must be None or a numeric or boolean dtype, got object."
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.glorot_normal(dtype=object)


def test_dtype_field_used_when_call_gives_none():
    assert jaxinit.normal(dtype=jnp.bfloat16)(KEY, SHAPE).dtype == jnp.bfloat16
    assert jaxinit.normal(dtype=jnp.bfloat16)(KEY, SHAPE, jnp.float16).dtype == jnp.float16


# Keys.


# A legacy key is another argument type for jit, so each case compiles again.
@pytest.mark.parametrize(
    "name",
    [
        name if name in ("normal", "glorot_uniform") else pytest.param(name, marks=pytest.mark.slow)
        for name in SCHEMES
    ],
)
def test_typed_and_legacy_keys_identical(name):
    scheme = SCHEMES[name]
    typed = scheme(KEY, SHAPE)
    legacy = scheme(LEGACY_KEY, SHAPE)
    assert bool(jnp.array_equal(typed, legacy))


def test_legacy_key_as_numpy_array_accepted():
    values = jaxinit.normal()(np.asarray(LEGACY_KEY), SHAPE)
    assert bool(jnp.array_equal(values, jaxinit.normal()(KEY, SHAPE)))


def test_key_python_int_rejected():
    message = (
        "Normal: key must be a JAX PRNG key from jax.random.key or jax.random.PRNGKey, got int."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.normal()(0, SHAPE)


def test_key_float_array_rejected():
    message = (
        "Normal: key must be a JAX PRNG key from jax.random.key or jax.random.PRNGKey, "
        "got an array of dtype float32 and shape (2,)."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.normal()(jnp.zeros(2), SHAPE)


def test_key_batch_typed_rejected():
    message = (
        "Normal: key must be a single key of shape (), got a key array of shape (3,); "
        "use jax.vmap or jaxinit.init_many for many keys."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.normal()(jax.random.split(KEY, 3), SHAPE)


def test_key_batch_legacy_rejected():
    message = (
        "Normal: key must be a single key, got an array of legacy keys of shape (3, 2); "
        "use jax.vmap or jaxinit.init_many for many keys."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.normal()(jax.random.split(LEGACY_KEY, 3), SHAPE)


def test_deterministic_scheme_ignores_key():
    assert bool(jnp.all(jaxinit.constant(2.5)(None, SHAPE) == 2.5))
    assert bool(jnp.all(jaxinit.zeros("not a key", SHAPE) == 0))


def test_different_keys_different_values():
    first = jaxinit.normal()(KEY, SHAPE)
    second = jaxinit.normal()(jax.random.key(1), SHAPE)
    assert not bool(jnp.any(first == second))


# Same bits eagerly, under jit and per vmap member.


# Every scheme in float32, and one plain and one fan-based scheme in bfloat16;
# the per-name conformance suite repeats this for the whole catalogue. Each
# case compiles three programs, so only three run in the fast step.
FAST_EAGER_JIT_VMAP = {("truncated_normal", jnp.float32), ("lecun_normal", jnp.float32)}
EAGER_JIT_VMAP_CASES = [
    pytest.param(
        name,
        dtype,
        marks=() if (name, dtype) in FAST_EAGER_JIT_VMAP else pytest.mark.slow,
        id=f"{name}-{np.dtype(dtype).name}",
    )
    for name, dtype in [(name, jnp.float32) for name in SCHEMES]
    + [("normal", jnp.bfloat16), ("glorot_uniform", jnp.bfloat16)]
]


@pytest.mark.parametrize("name, dtype", EAGER_JIT_VMAP_CASES)
def test_eager_jit_vmap_identical(name, dtype):
    scheme = SCHEMES[name]
    keys = jax.random.split(KEY, 3)
    eager = [scheme(keys[i], SHAPE, dtype) for i in range(3)]
    jitted = jax.jit(lambda key: scheme(key, SHAPE, dtype))(keys[1])
    mapped = jax.vmap(lambda key: scheme(key, SHAPE, dtype))(keys)
    assert bool(jnp.array_equal(jitted, eager[1]))
    for i in range(3):
        assert bool(jnp.array_equal(mapped[i], eager[i]))


# One compilation for equal schemes.


def test_equal_schemes_compile_once():
    shape = (7, 13)
    first = jaxinit.variance_scaling(1.5, "fan_geo_avg", "uniform")
    second = jaxinit.variance_scaling(1.5, "fan_geo_avg", "uniform")
    assert first is not second
    assert first == second

    before = _sample_compiled._cache_size()
    first(KEY, shape)
    after_first = _sample_compiled._cache_size()
    second(jax.random.key(5), shape)
    first(LEGACY_KEY, shape)
    after_second = _sample_compiled._cache_size()

    assert after_first == before + 1
    # A legacy key is a uint32 array rather than a typed key, so it is a new
    # argument type for jit and takes one more compilation; no more than that.
    assert after_second == after_first + 1


def test_different_dtype_compiles_again():
    shape = (7, 11)
    scheme = jaxinit.normal(0.125)
    before = _sample_compiled._cache_size()
    scheme(KEY, shape)
    scheme(KEY, shape)
    scheme(KEY, shape, jnp.bfloat16)
    assert _sample_compiled._cache_size() == before + 2


# Zero-sized shapes.


# Fan-based schemes need two axes, so (0,) goes only to the plain schemes.
ZERO_SIZED_CASES = [
    (name, shape)
    for name in SCHEMES
    for shape in [(0,), (0, 5), (5, 0), (3, 3, 0, 8)]
    if len(shape) >= 2 or not isinstance(SCHEMES[name], jaxinit.VarianceScaling)
]


@pytest.mark.parametrize("name, shape", ZERO_SIZED_CASES)
def test_zero_sized_shape_eager_and_jit(name, shape):
    scheme = SCHEMES[name]
    eager = scheme(KEY, shape, jnp.bfloat16)
    jitted = jax.jit(lambda key: scheme(key, shape, jnp.bfloat16))(KEY)
    assert eager.shape == shape
    assert eager.dtype == jnp.bfloat16
    assert jitted.shape == shape
    assert jitted.dtype == jnp.bfloat16


# out_sharding.


def _mesh(axis_type):
    return jax.make_mesh((8,), ("x",), axis_types=(axis_type,))


@pytest.mark.parametrize("axis_type", [AxisType.Auto, AxisType.Explicit])
@pytest.mark.parametrize("name", ["lecun_normal", "uniform", "truncated_normal"])
def test_out_sharding_gives_sharding_and_same_values(name, axis_type):
    scheme = SCHEMES[name]
    sharding = NamedSharding(_mesh(axis_type), P("x", None))
    reference = scheme(KEY, SHAPE)

    values = scheme(KEY, SHAPE, out_sharding=sharding)

    assert values.sharding.is_equivalent_to(sharding, len(SHAPE))
    assert {shard.data.shape for shard in values.addressable_shards} == {(2, 8)}
    assert bool(jnp.array_equal(values, reference))


def test_out_sharding_partition_spec_inside_explicit_mesh():
    mesh = _mesh(AxisType.Explicit)
    scheme = SCHEMES["glorot_uniform"]
    reference = scheme(KEY, SHAPE)
    with jax.set_mesh(mesh):
        values = jax.jit(lambda key: scheme(key, SHAPE, out_sharding=P("x", None)))(KEY)
    assert values.sharding.is_equivalent_to(NamedSharding(mesh, P("x", None)), len(SHAPE))
    assert bool(jnp.array_equal(values, reference))


def test_out_sharding_zero_sized_shape():
    sharding = NamedSharding(_mesh(AxisType.Auto), P("x", None))
    values = SCHEMES["lecun_normal"](KEY, (0, 8), out_sharding=sharding)
    assert values.shape == (0, 8)
    assert values.sharding.is_equivalent_to(sharding, 2)


# Argument checks shared by the constructors.


def test_check_real_messages():
    assert core.check_real("s", "a", np.float32(0.5)) == 0.5
    assert core.check_real("s", "a", jnp.array(2.0)) == 2.0
    with pytest.raises(TypeError, match=re.escape("s: a must be a real number, got True.")):
        core.check_real("s", "a", True)
    with pytest.raises(TypeError, match=re.escape("s: a must be a real number, got '1'.")):
        core.check_real("s", "a", "1")
    with pytest.raises(TypeError, match=re.escape("s: a must be a real number, got 1j.")):
        core.check_real("s", "a", 1j)
    with pytest.raises(ValueError, match=re.escape("s: a must be finite, got inf.")):
        core.check_real("s", "a", float("inf"))


def test_check_sign_messages():
    assert core.check_nonnegative("s", "a", 0) == 0.0
    with pytest.raises(ValueError, match=re.escape("s: a must be non-negative, got -1.0.")):
        core.check_nonnegative("s", "a", -1)
    with pytest.raises(ValueError, match=re.escape("s: a must be positive, got 0.0.")):
        core.check_positive("s", "a", 0.0)


def test_check_int_messages():
    assert core.check_int("s", "n", np.int64(3), minimum=1) == 3
    with pytest.raises(TypeError, match=re.escape("s: n must be an int, got 2.0.")):
        core.check_int("s", "n", 2.0)
    with pytest.raises(TypeError, match=re.escape("s: n must be an int, got False.")):
        core.check_int("s", "n", False)
    with pytest.raises(ValueError, match=re.escape("s: n must be an int >= 1, got 0.")):
        core.check_int("s", "n", 0, minimum=1)


def test_check_choice_message():
    message = "s: mode must be one of 'a', 'b', got 'c'."
    with pytest.raises(ValueError, match=re.escape(message)):
        core.check_choice("s", "mode", "c", ("a", "b"))
    with pytest.raises(ValueError, match=re.escape("s: mode must be one of 'a', got 1.")):
        core.check_choice("s", "mode", 1, ("a",))


def test_check_axes_and_normalize_axes():
    assert core.check_axes("s", "in_axis", [0, np.int64(1)]) == (0, 1)
    assert core.normalize_axes("s", "in_axis", (-1, 0), 3) == (2, 0)
    message = "s: in_axis must be an int or a sequence of ints, got (0, 1.5)."
    with pytest.raises(TypeError, match=re.escape(message)):
        core.check_axes("s", "in_axis", (0, 1.5))
    message = "s: in_axis=3 is out of range for a shape with 3 axes; accepted axes are -3 to 2."
    with pytest.raises(ValueError, match=re.escape(message)):
        core.normalize_axes("s", "in_axis", 3, 3)
    with pytest.raises(
        ValueError, match=re.escape("s: in_axis=(0, -3) names the same axis twice.")
    ):
        core.normalize_axes("s", "in_axis", (0, -3), 3)


def test_check_fits_dtype_message():
    core.check_fits_dtype("s", np.dtype(np.float16), 65504.0, "scale=1")
    message = (
        "s: with scale=1, values can reach 7e+04 in magnitude, which overflows float16 "
        "(largest finite value 6.55e+04); use a smaller scale or a wider dtype."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        core.check_fits_dtype("s", np.dtype(np.float16), 70000.0, "scale=1")


def test_inward_bounds_rounds_into_interval():
    lo, hi = core.inward_bounds(0.1, 1.0, np.dtype(jnp.bfloat16), high_open=True)
    assert float(lo) >= 0.1
    assert float(np.nextafter(lo, np.array(-np.inf, jnp.bfloat16))) < 0.1
    assert float(hi) == 1.0 - 2.0**-8

    lo, hi = core.inward_bounds(-1.0, 1.0, np.dtype(np.float32), high_open=False)
    assert (float(lo), float(hi)) == (-1.0, 1.0)

    lo, hi = core.inward_bounds(1.0 + 1e-9, 1.0 + 2e-9, np.dtype(np.float32), high_open=True)
    assert lo > hi


def test_normal_sample_bound_covers_largest_sample():
    from scipy.special import erfinv

    for dtype in (np.float32, np.float64):
        epsneg = float(np.finfo(dtype).epsneg)
        largest_possible = np.sqrt(2.0) * erfinv(1.0 - epsneg)
        bound = core.normal_sample_bound(np.dtype(dtype))
        assert largest_possible < bound < largest_possible + 0.5
    assert core.normal_sample_bound(np.dtype(jnp.bfloat16)) == core.normal_sample_bound(
        np.dtype(np.float32)
    )
