"""Tests for jaxinit.structured: values against JAX and exact formulas, statistics, errors."""

import math
import pickle
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxinit.structured import (
    DeltaOrthogonal,
    Orthogonal,
    delta_orthogonal,
    dirac,
    identity,
    orthogonal,
    siren,
    small_init,
    sparse,
    zero_init,
)

KEY = jax.random.key(0)


def _keys(seed):
    """Return a typed key and the legacy uint32 key with the same bits."""
    return {"typed": jax.random.key(seed), "legacy": jax.random.PRNGKey(seed)}


def _max_gram_error(matrix, rows=False):
    """Return max |A^H A - I| (or |A A^H - I| with ``rows``) in float64."""
    matrix = np.asarray(matrix, np.complex128 if np.iscomplexobj(matrix) else np.float64)
    gram = matrix @ matrix.conj().T if rows else matrix.conj().T @ matrix
    return float(np.abs(gram - np.eye(gram.shape[0])).max())


# Orthogonal.


@pytest.mark.parametrize(
    ("shape", "column_axis", "scale", "key_kind", "matrix_shape"),
    [
        ((6, 6), -1, 1.0, "typed", (6, 6)),
        ((3, 7), -1, 1.0, "legacy", (3, 7)),
        ((7, 3), -1, 2.0, "typed", (7, 3)),
        ((2, 3, 4), 0, 0.5, "legacy", (12, 2)),
    ],
)
def test_orthogonal_equals_jax_float32(shape, column_axis, scale, key_kind, matrix_shape):
    key = _keys(11)[key_kind]
    expected = jax.nn.initializers.orthogonal(scale, column_axis)(key, shape, jnp.float32)
    actual = orthogonal(scale, column_axis)(key, shape, jnp.float32)
    assert actual.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))

    # The flattened (rows, columns) matrix over scale is semi-orthogonal.
    matrix = np.moveaxis(np.asarray(actual), column_axis, -1).reshape(matrix_shape) / scale
    rows, columns = matrix_shape
    assert _max_gram_error(matrix, rows=rows < columns) < 1e-5


def test_orthogonal_tall_has_orthonormal_columns():
    w = orthogonal()(KEY, (64, 32))
    assert _max_gram_error(w) < 1e-5


@pytest.mark.parametrize(("dtype", "tolerance"), [(jnp.bfloat16, 0.03), (jnp.float16, 0.005)])
def test_orthogonal_16bit_gram_tolerance(dtype, tolerance):
    w = orthogonal()(KEY, (64, 64), dtype)
    assert w.dtype == dtype
    assert _max_gram_error(w.astype(jnp.float32)) < tolerance


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_orthogonal_16bit_is_float32_rounded_once(dtype):
    low = orthogonal()(KEY, (64, 64), dtype)
    reference = orthogonal()(KEY, (64, 64), jnp.float32).astype(dtype)
    np.testing.assert_array_equal(np.asarray(low), np.asarray(reference))


def test_orthogonal_complex64_is_unitary():
    w = orthogonal()(KEY, (32, 32), jnp.complex64)
    assert w.dtype == jnp.complex64
    assert _max_gram_error(w) < 1e-5
    assert _max_gram_error(w, rows=True) < 1e-5
    assert float(jnp.abs(w.imag).max()) > 0.1


def test_orthogonal_out_sharding_matches_unsharded():
    mesh = Mesh(np.array(jax.devices()[:8]), ("model",))
    sharding = NamedSharding(mesh, PartitionSpec(None, "model"))
    sharded = orthogonal()(KEY, (64, 32), out_sharding=sharding)
    assert sharded.sharding == sharding
    np.testing.assert_array_equal(np.asarray(sharded), np.asarray(orthogonal()(KEY, (64, 32))))


# Delta orthogonal.


@pytest.mark.parametrize(
    ("shape", "column_axis", "key_kind"),
    [((3, 4, 4), -1, "typed"), ((3, 3, 4, 8), 0, "legacy"), ((3, 3, 3, 2, 2), -1, "typed")],
)
def test_delta_orthogonal_equals_jax_float32(shape, column_axis, key_kind):
    key = _keys(5)[key_kind]
    expected = jax.nn.initializers.delta_orthogonal(1.5, column_axis)(key, shape, jnp.float32)
    actual = delta_orthogonal(1.5, column_axis)(key, shape, jnp.float32)
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


@pytest.mark.parametrize(("shape", "centre"), [((3, 8, 8), (1,)), ((4, 5, 8, 8), (1, 2))])
def test_delta_orthogonal_centre_tap_only(shape, centre):
    w = np.asarray(delta_orthogonal()(KEY, shape))
    tap_norms = np.abs(w).sum(axis=(-2, -1))
    assert tap_norms[centre] > 0
    tap_norms[centre] = 0
    assert (tap_norms == 0).all()
    assert _max_gram_error(w[centre], rows=True) < 1e-5


def test_delta_orthogonal_float16_centre_tap():
    w = np.array(delta_orthogonal()(KEY, (3, 3, 64, 64), jnp.float16))
    assert w.dtype == np.float16
    assert _max_gram_error(w[1, 1].astype(np.float32)) < 0.005
    w[1, 1] = 0
    assert (w == 0).all()


# Identity and Dirac.


def test_identity_rectangular_values():
    np.testing.assert_array_equal(identity()(KEY, (3, 5)), np.eye(3, 5, dtype=np.float32))
    np.testing.assert_array_equal(identity()(KEY, (5, 3)), np.eye(5, 3, dtype=np.float32))


def test_identity_stacked_slices_share_eye():
    w = identity(0.5)(KEY, (2, 3, 4, 4))
    expected = np.broadcast_to(0.5 * np.eye(4, dtype=np.float32), (2, 3, 4, 4))
    np.testing.assert_array_equal(w, expected)


def test_identity_integer_and_bool_dtypes():
    w_int = identity(3)(KEY, (2, 2), jnp.int32)
    assert w_int.dtype == jnp.int32
    np.testing.assert_array_equal(w_int, [[3, 0], [0, 3]])
    w_bool = identity()(KEY, (2, 3), jnp.bool_)
    np.testing.assert_array_equal(w_bool, [[True, False, False], [False, True, False]])


def test_identity_ignores_key():
    first = identity(2.0)(jax.random.key(1), (4, 4))
    second = identity(2.0)(jax.random.key(2), (4, 4))
    np.testing.assert_array_equal(first, second)


def _dirac_reference(shape, groups):
    w = np.zeros(shape, np.float32)
    centre = tuple((size - 1) // 2 for size in shape[:-2])
    in_per_group, out_features = shape[-2:]
    out_per_group = out_features // groups
    for group in range(groups):
        for channel in range(min(in_per_group, out_per_group)):
            w[(*centre, channel, group * out_per_group + channel)] = 1
    return w


@pytest.mark.parametrize(
    ("shape", "groups"),
    [((3, 3, 4, 4), 1), ((3, 4, 6), 1), ((3, 6, 4), 1), ((2, 2, 2, 4, 4), 1), ((3, 3, 2, 4), 2)],
)
def test_dirac_exact_values(shape, groups):
    np.testing.assert_array_equal(dirac(groups)(KEY, shape), _dirac_reference(shape, groups))


def test_dirac_integer_dtype():
    w = dirac()(KEY, (3, 2, 2), jnp.int8)
    assert w.dtype == jnp.int8
    np.testing.assert_array_equal(w[1], [[1, 0], [0, 1]])


@pytest.mark.parametrize(("kernel_size", "groups"), [((3, 3), 1), ((3, 3), 2), ((4, 4), 1)])
def test_dirac_flax_conv_maps_input_to_itself(kernel_size, groups):
    features = 4
    conv = nn.Conv(
        features=features,
        kernel_size=kernel_size,
        padding="SAME",
        feature_group_count=groups,
        use_bias=False,
        kernel_init=dirac(groups),
    )
    x = jax.random.normal(jax.random.key(3), (2, *([7] * len(kernel_size)), features))
    variables = conv.init(jax.random.key(4), x)
    np.testing.assert_array_equal(np.asarray(conv.apply(variables, x)), np.asarray(x))


# Sparse.


@pytest.mark.parametrize(
    ("sparsity", "fan_in", "zeros"),
    [(0.0, 10, 0), (0.1, 10, 1), (0.7, 10, 7), (0.25, 9, 3), (0.999, 5, 5), (1e-9, 3, 1)],
)
def test_sparse_zeros_per_column_formula(sparsity, fan_in, zeros):
    assert sparse(sparsity).zeros_per_column(fan_in) == zeros


@pytest.mark.parametrize(("sparsity", "fan_in", "zeros"), [(0.5, 20, 10), (0.7, 10, 7)])
def test_sparse_exact_zero_count_per_column(sparsity, fan_in, zeros):
    w = np.asarray(sparse(sparsity)(KEY, (fan_in, 50)))
    np.testing.assert_array_equal((w == 0).sum(axis=0), np.full(50, zeros))


def test_sparse_zero_rows_differ_between_columns():
    w = np.asarray(sparse(0.5)(KEY, (20, 50)))
    patterns = {tuple(np.flatnonzero(w[:, column] == 0)) for column in range(50)}
    # Two of 50 random patterns out of C(20, 10) = 184756 coincide with probability
    # below 0.01, so at most one repeat is allowed.
    assert len(patterns) >= 49


def test_sparse_nonzero_std_and_normality():
    stddev = 0.02
    w = np.asarray(sparse(0.5, stddev)(KEY, (1000, 200)), np.float64)
    nonzero = w[w != 0]
    assert nonzero.size == 100_000
    standard_error = stddev / math.sqrt(2 * nonzero.size)
    assert abs(nonzero.std() - stddev) < 6 * standard_error
    assert abs(nonzero.mean()) < 6 * stddev / math.sqrt(nonzero.size)
    assert scipy.stats.kstest(nonzero, "norm", args=(0.0, stddev)).pvalue > 1e-4


# SIREN and SmallInit.


@pytest.mark.parametrize(
    ("init", "shape", "bound"),
    [
        (siren(is_first=True), (100, 200), 1 / 100),
        (siren(), (100, 200), math.sqrt(6 / 100) / 30),
        (siren(w0=1.0, c=2.0, batch_axis=0), (4, 3, 16, 500), math.sqrt(2 / 48)),
    ],
)
def test_siren_bound_and_variance(init, shape, bound):
    assert init.bound(shape) == pytest.approx(bound, rel=1e-12)
    w = np.asarray(init(KEY, shape), np.float64)
    assert np.abs(w).max() <= np.float32(bound)
    assert np.abs(w).max() > 0.99 * bound
    variance = bound**2 / 3
    # Var(X^2) of U(-a, a) is a^4/5 - a^4/9 = 4 a^4 / 45.
    standard_error = math.sqrt(4 / 45) * bound**2 / math.sqrt(w.size)
    assert abs(np.mean(w**2) - variance) < 6 * standard_error


def test_siren_bfloat16_stays_inside_bound():
    bound = siren().bound((100, 200))
    w = np.asarray(siren()(KEY, (100, 200), jnp.bfloat16), np.float64)
    assert np.abs(w).max() <= bound
    assert w.max() < bound


def test_siren_first_layer_ignores_w0_and_c():
    assert siren(5.0, True, 2.0).bound((64, 8)) == siren(30.0, True).bound((64, 8))


def test_small_init_std():
    shape = (256, 512)
    stddev = math.sqrt(2 / (5 * 256))
    assert small_init().stddev(shape) == pytest.approx(stddev, rel=1e-12)
    w = np.asarray(small_init()(KEY, shape), np.float64)
    standard_error = stddev / math.sqrt(2 * w.size)
    assert abs(w.std() - stddev) < 6 * standard_error
    assert abs(w.mean()) < 6 * stddev / math.sqrt(w.size)


def test_small_init_fan_in_uses_axes():
    assert small_init(in_axis=0, out_axis=1).stddev((40, 10)) == pytest.approx(math.sqrt(2 / 200))
    assert small_init(batch_axis=0).stddev((3, 80, 7)) == pytest.approx(math.sqrt(2 / 400))


# ZerO.


def test_zero_init_square_is_identity():
    np.testing.assert_array_equal(zero_init()(KEY, (6, 6)), np.eye(6, dtype=np.float32))


def test_zero_init_narrowing_is_partial_identity():
    np.testing.assert_array_equal(zero_init()(KEY, (7, 3)), np.eye(7, 3, dtype=np.float32))


@pytest.mark.parametrize(
    ("fan_in", "fan_out", "order"), [(3, 5, 3), (2, 4, 2), (1, 2, 1), (5, 9, 4)]
)
def test_zero_init_widening_is_scaled_hadamard(fan_in, fan_out, order):
    hadamard = scipy.linalg.hadamard(2**order)
    expected = 2.0 ** (-(order - 1) / 2) * hadamard[:fan_in, :fan_out]
    w = zero_init()(KEY, (fan_in, fan_out))
    np.testing.assert_array_equal(np.asarray(w), expected.astype(np.float32))


def test_zero_init_conv_kernel_centre_tap():
    w = np.asarray(zero_init()(KEY, (3, 3, 2, 4)))
    expected = np.zeros((3, 3, 2, 4), np.float32)
    expected[1, 1] = (2.0**-0.5 * scipy.linalg.hadamard(4)[:2, :4]).astype(np.float32)
    np.testing.assert_array_equal(w, expected)
    np.testing.assert_array_equal(zero_init()(KEY, (3, 5, 5))[1], np.eye(5, dtype=np.float32))


def test_zero_init_integer_dtype_when_exact():
    np.testing.assert_array_equal(zero_init()(KEY, (3, 2), jnp.int32), np.eye(3, 2, dtype=np.int32))
    np.testing.assert_array_equal(zero_init()(KEY, (1, 2), jnp.int32), [[1, 1]])


# Shared contract: every scheme, eager == jit == vmap, empty shapes, value semantics.

# The shapes repeat ones used above, so the eager calls hit the compilation cache.
SCHEMES = [
    (orthogonal(), (64, 32)),
    (delta_orthogonal(), (3, 8, 8)),
    (identity(0.5), (2, 3, 4, 4)),
    (dirac(2), (3, 3, 2, 4)),
    (sparse(0.5), (20, 50)),
    (siren(), (100, 200)),
    (small_init(), (256, 512)),
    (zero_init(), (3, 5)),
    (zero_init(), (3, 3, 2, 4)),
]

SCHEME_IDS = [f"{type(init).__name__}-{shape}" for init, shape in SCHEMES]


@pytest.mark.parametrize(("init", "shape"), SCHEMES, ids=SCHEME_IDS)
def test_eager_jit_vmap_agree(init, shape):
    # One compiled program contains both the jitted call and the vmapped calls,
    # because each compilation of a random scheme costs about a second.
    @jax.jit
    def traced(key, keys):
        return init(key, shape), jax.vmap(lambda member: init(member, shape))(keys)

    keys = jax.random.split(jax.random.key(9), 3)
    single, batched = traced(KEY, keys)
    np.testing.assert_array_equal(np.asarray(single), np.asarray(init(KEY, shape)))
    for index in range(3):
        np.testing.assert_array_equal(
            np.asarray(batched[index]), np.asarray(init(keys[index], shape))
        )


# Orthogonal and delta-orthogonal take legacy keys in the comparisons with JAX;
# sparse is the one other scheme that splits its key.
def test_sparse_legacy_key_equals_typed_key():
    typed = sparse(0.5)(jax.random.key(4), (20, 50))
    legacy = sparse(0.5)(jax.random.PRNGKey(4), (20, 50))
    np.testing.assert_array_equal(np.asarray(legacy), np.asarray(typed))


@pytest.mark.parametrize(
    ("init", "shape"),
    [
        (orthogonal(), (0, 4)),
        (orthogonal(), (3, 0, 2)),
        (delta_orthogonal(), (3, 0, 4)),
        (identity(), (0, 3)),
        (dirac(), (3, 0, 0)),
        (sparse(0.5), (0, 4)),
        (siren(), (5, 0)),
        (siren(), (0, 5)),
        (small_init(), (0, 5)),
        (zero_init(), (4, 0)),
    ],
)
def test_zero_sized_shape_gives_empty_array(init, shape):
    w = init(KEY, shape, jnp.float16)
    assert w.shape == shape
    assert w.dtype == jnp.float16


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda: orthogonal(2.0, 0), "Orthogonal(scale=2.0, column_axis=0, dtype=None)"),
        (lambda: delta_orthogonal(), "DeltaOrthogonal(scale=1.0, column_axis=-1, dtype=None)"),
        (lambda: identity(3), "Identity(gain=3.0, dtype=None)"),
        (lambda: dirac(2, jnp.int8), "Dirac(groups=2, dtype=dtype('int8'))"),
        (lambda: sparse(0.5), "Sparse(sparsity=0.5, stddev=0.01, dtype=None)"),
        (
            lambda: siren(is_first=True, in_axis=0, out_axis=1),
            "Siren(w0=30.0, is_first=True, c=6.0, dtype=None, in_axis=0, out_axis=1, "
            "batch_axis=())",
        ),
        (
            lambda: small_init(batch_axis=[0]),
            "SmallInit(in_axis=-2, out_axis=-1, batch_axis=(0,), dtype=None)",
        ),
        (lambda: zero_init(), "ZerO(dtype=None)"),
    ],
)
def test_value_semantics(build, text):
    first, second = build(), build()
    assert repr(first) == text
    assert first == second
    assert hash(first) == hash(second)
    restored = pickle.loads(pickle.dumps(first))
    assert restored == first
    assert type(restored) is type(first)


def test_schemes_with_different_fields_differ():
    assert orthogonal(1.0) != orthogonal(2.0)
    assert siren() != siren(is_first=True)
    assert sparse(0.5) != sparse(0.5, 0.02)
    assert Orthogonal() != DeltaOrthogonal()


def test_equal_schemes_share_one_compilation():
    from jaxinit.core import _sample_compiled

    before = _sample_compiled._cache_size()
    identity(0.25)(KEY, (5, 7))
    identity(0.25)(jax.random.key(1), (5, 7))
    assert _sample_compiled._cache_size() == before + 1


# Errors.


def _raises(error, message):
    return pytest.raises(error, match="^" + re.escape(message) + "$")


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: orthogonal(-1.0), ValueError, "orthogonal: scale must be non-negative, got -1.0."),
        (
            lambda: orthogonal(float("nan")),
            ValueError,
            "orthogonal: scale must be finite, got nan.",
        ),
        (lambda: orthogonal(math.inf), ValueError, "orthogonal: scale must be finite, got inf."),
        (lambda: orthogonal("1"), TypeError, "orthogonal: scale must be a real number, got '1'."),
        (
            lambda: orthogonal(column_axis=1.0),
            TypeError,
            "orthogonal: column_axis must be an int, got 1.0.",
        ),
        (
            lambda: delta_orthogonal(-0.5),
            ValueError,
            "delta_orthogonal: scale must be non-negative, got -0.5.",
        ),
        (
            lambda: delta_orthogonal(column_axis=2),
            ValueError,
            "delta_orthogonal: column_axis indexes the (in, out) matrix at the centre tap, "
            "so it must be -2, -1, 0 or 1, got 2.",
        ),
        (lambda: identity(-2.0), ValueError, "identity: gain must be non-negative, got -2.0."),
        (lambda: identity(math.inf), ValueError, "identity: gain must be finite, got inf."),
        (lambda: dirac(0), ValueError, "dirac: groups must be an int >= 1, got 0."),
        (lambda: dirac(1.5), TypeError, "dirac: groups must be an int, got 1.5."),
        (
            lambda: sparse(1.0),
            ValueError,
            "sparse: sparsity must be in [0, 1), the fraction of zeros per column, got 1.0.",
        ),
        (
            lambda: sparse(-0.1),
            ValueError,
            "sparse: sparsity must be in [0, 1), the fraction of zeros per column, got -0.1.",
        ),
        (lambda: sparse(0.5, -0.01), ValueError, "sparse: stddev must be non-negative, got -0.01."),
        (lambda: sparse(math.nan), ValueError, "sparse: sparsity must be finite, got nan."),
        (lambda: siren(0.0), ValueError, "siren: w0 must be positive, got 0.0."),
        (lambda: siren(c=-6.0), ValueError, "siren: c must be positive, got -6.0."),
        (lambda: siren(math.inf), ValueError, "siren: w0 must be finite, got inf."),
        (lambda: siren(is_first=1), TypeError, "siren: is_first must be a bool, got 1."),
        (
            lambda: orthogonal(dtype=jnp.int32),
            TypeError,
            "orthogonal: dtype must be None or a floating or complex dtype (such as float32 or "
            "bfloat16) because the scheme draws random values, got int32.",
        ),
        (
            lambda: sparse(0.5, dtype=jnp.complex64),
            TypeError,
            "sparse: dtype must be None or a floating dtype (such as float32 or bfloat16) "
            "because the scheme draws random values, got complex64.",
        ),
        (
            lambda: small_init(in_axis="0"),
            TypeError,
            "small_init: in_axis must be an int or a sequence of ints, got '0'.",
        ),
    ],
)
def test_bad_arguments_raise_when_built(build, error, message):
    with _raises(error, message):
        build()


@pytest.mark.parametrize(
    ("init", "shape", "dtype", "error", "message"),
    [
        (
            orthogonal(),
            (5,),
            None,
            ValueError,
            "orthogonal: shape must have at least two axes, got shape (5,). For a bias or "
            "other 1-D parameter, use zeros, constant or normal instead.",
        ),
        (
            orthogonal(column_axis=2),
            (3, 4),
            None,
            ValueError,
            "orthogonal: column_axis=2 is out of range for a shape with 2 axes; accepted axes "
            "are -2 to 1.",
        ),
        (
            orthogonal(column_axis=-4),
            (2, 3, 4),
            None,
            ValueError,
            "orthogonal: column_axis=-4 is out of range for a shape with 3 axes; accepted axes "
            "are -3 to 2.",
        ),
        (
            orthogonal(),
            (4, 4),
            jnp.int32,
            TypeError,
            "Orthogonal draws random values, so it accepts only floating or complex dtypes "
            "(such as float32 or bfloat16), got int32.",
        ),
        (
            delta_orthogonal(),
            (4, 4),
            None,
            ValueError,
            "delta_orthogonal: shape must be a 3-D, 4-D or 5-D convolution kernel "
            "(*spatial, in, out), got shape (4, 4).",
        ),
        (
            delta_orthogonal(),
            (1, 1, 1, 1, 4, 4),
            None,
            ValueError,
            "delta_orthogonal: shape must be a 3-D, 4-D or 5-D convolution kernel "
            "(*spatial, in, out), got shape (1, 1, 1, 1, 4, 4).",
        ),
        (
            delta_orthogonal(),
            (3, 3, 8, 4),
            None,
            ValueError,
            "delta_orthogonal: the input size must not exceed the output size, got in=8 and "
            "out=4 in shape (3, 3, 8, 4).",
        ),
        (
            identity(),
            (4,),
            None,
            ValueError,
            "identity: shape must have at least two axes, got shape (4,). For a bias or other "
            "1-D parameter, use zeros, constant or normal instead.",
        ),
        (
            identity(1.5),
            (2, 2),
            jnp.int32,
            ValueError,
            "identity: gain=1.5 is not a whole number, so it cannot fill an integer array of "
            "dtype int32.",
        ),
        (
            identity(2.0),
            (2, 2),
            jnp.bool_,
            ValueError,
            "identity: gain must be 0 or 1 for a boolean array, got gain=2.0.",
        ),
        (
            identity(300),
            (2, 2),
            jnp.int8,
            ValueError,
            "identity: gain=300.0 exceeds the maximum 127 of dtype int8.",
        ),
        (
            identity(1e6),
            (2, 2),
            jnp.float16,
            ValueError,
            "identity: gain=1000000.0 overflows to inf in dtype float16. Use a wider dtype or "
            "a smaller value.",
        ),
        (
            orthogonal(1e6),
            (2, 2),
            jnp.float16,
            ValueError,
            "orthogonal: with scale=1000000.0, values can reach 1e+06 in magnitude, which "
            "overflows float16 (largest finite value 6.55e+04); use a smaller scale or a wider "
            "dtype.",
        ),
        (
            delta_orthogonal(1e6),
            (3, 2, 2),
            jnp.float16,
            ValueError,
            "delta_orthogonal: with scale=1000000.0, values can reach 1e+06 in magnitude, "
            "which overflows float16 (largest finite value 6.55e+04); use a smaller scale or a "
            "wider dtype.",
        ),
        (
            sparse(0.5, 2e4),
            (4, 4),
            jnp.float16,
            ValueError,
            "sparse: with stddev=20000.0, values can reach 1.154e+05 in magnitude, which "
            "overflows float16 (largest finite value 6.55e+04); use a smaller scale or a wider "
            "dtype.",
        ),
        (
            siren(1e-10),
            (100, 200),
            jnp.float16,
            ValueError,
            "siren: with w0=1e-10, is_first=False and c=6.0, values can reach 2.449e+09 in "
            "magnitude, which overflows float16 (largest finite value 6.55e+04); use a smaller "
            "scale or a wider dtype.",
        ),
        (
            dirac(),
            (3, 3),
            None,
            ValueError,
            "dirac: shape must be a 3-D, 4-D or 5-D convolution kernel (*spatial, in, out), "
            "got shape (3, 3).",
        ),
        (
            dirac(3),
            (3, 3, 2, 4),
            None,
            ValueError,
            "dirac: the output size must be divisible by groups, got out=4 and groups=3 in "
            "shape (3, 3, 2, 4).",
        ),
        (
            sparse(0.5),
            (3, 4, 5),
            None,
            ValueError,
            "sparse: shape must be a 2-D (in, out) kernel, got shape (3, 4, 5).",
        ),
        (
            sparse(0.5),
            (8,),
            None,
            ValueError,
            "sparse: shape must be a 2-D (in, out) kernel, got shape (8,).",
        ),
        (
            sparse(0.5),
            (4, 4),
            jnp.int32,
            TypeError,
            "Sparse draws random values, so it accepts only floating dtypes (such as float32 "
            "or bfloat16), got int32.",
        ),
        (
            siren(),
            (7,),
            None,
            ValueError,
            "siren: got shape (7,), but a fan-based scheme needs at least two axes (inputs "
            "and outputs); for a bias or other 1-D parameter use zeros, constant or normal "
            "instead.",
        ),
        (
            small_init(in_axis=3),
            (4, 5),
            None,
            ValueError,
            "small_init: in_axis=3 is out of range for a shape with 2 axes; accepted axes are "
            "-2 to 1.",
        ),
        (
            zero_init(),
            (6,),
            None,
            ValueError,
            "zero_init: shape must be an (in, out) matrix or a 3-D to 5-D convolution kernel "
            "(*spatial, in, out), got shape (6,). For a bias or other 1-D parameter, use "
            "zeros, constant or normal instead.",
        ),
        (
            zero_init(),
            (3, 5),
            jnp.int32,
            TypeError,
            "zero_init: a layer that widens from in=3 to out=5 gets Hadamard entries of "
            "+-0.5, which dtype int32 cannot represent. Use a floating dtype.",
        ),
    ],
)
def test_bad_shapes_and_dtypes_raise_when_called(init, shape, dtype, error, message):
    with _raises(error, message):
        init(KEY, shape, dtype)
