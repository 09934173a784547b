"""The contract that every registry name keeps, checked name by name.

Each scheme is built from its registry name (with the fields in
``REQUIRED_FIELDS`` where the builder needs some) and called on a shape that
suits it (``SHAPES``), so a new registry name is covered without a new test.

Several names build equal schemes (``he_normal``, ``kaiming_normal`` and
``keras:he_normal``). The traced calls run in one jitted program per distinct
scheme and shape, cached below, so equal schemes share its compilation. Each
compilation of a scheme costs about half a second of CPU time, so the checks
of 16-bit, complex and float64 dtypes, which need one more compilation per
distinct scheme, run in the slow step.
"""

import dataclasses
import functools
import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit.core import _sample_compiled
from jaxinit.registry import get, list_schemes, to_config

NAMES = [name for name, _ in list_schemes()]

# Builders without defaults for every argument get these fields.
REQUIRED_FIELDS = {
    "constant": {"value": 0.5},
    "variance_scaling": {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"},
    "sparse": {"sparsity": 0.5},
    "torch:sparse": {"sparsity": 0.5},
    "scaled": {"init": "lecun_normal", "factor": 0.5},
    "per_slice": {"init": "glorot_uniform", "sections": 2},
}

DEFAULT_SHAPE = (8, 16)
CONV_SHAPE = (3, 3, 8, 8)
SHAPES = {"delta_orthogonal": CONV_SHAPE, "dirac": CONV_SHAPE, "torch:dirac": CONV_SHAPE}
ZERO_SIZE_SHAPES = {
    "delta_orthogonal": (3, 3, 0, 8),
    "dirac": (3, 3, 0, 8),
    "torch:dirac": (3, 3, 0, 8),
}


def _config(name):
    return {"name": name, **REQUIRED_FIELDS.get(name, {})}


def _scheme(name):
    return get(_config(name))


def _shape(name):
    return SHAPES.get(name, DEFAULT_SHAPE)


def _fresh_shape(name):
    """Return a shape that no other test compiles, with an even last axis."""
    shape = _shape(name)
    return (*shape[:-1], 2 * (16 + NAMES.index(name)))


def _accepts_complex(scheme):
    return scheme.allow_complex or not scheme.random


RANDOM_NAMES = [name for name in NAMES if _scheme(name).random]
# The first name of each group of names that build equal schemes.
FIRST_NAMES = [
    name
    for index, name in enumerate(NAMES)
    if _scheme(name) not in [_scheme(earlier) for earlier in NAMES[:index]]
]
# The first name of each scheme class, for the compilation count in the fast step.
CLASS_NAMES = [
    name
    for index, name in enumerate(NAMES)
    if type(_scheme(name)) not in [type(_scheme(earlier)) for earlier in NAMES[:index]]
]
REAL_ONLY_NAMES = [name for name in NAMES if not _accepts_complex(_scheme(name))]
TRACED_KEYS = jax.random.split(jax.random.key(1), 3)
# The legacy uint32 form of the same key as TRACED_KEYS[0].
LEGACY_KEY = jax.random.key_data(TRACED_KEYS[0])


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _traced_program(scheme, keys, legacy_key, shape, zero_shape):
    single = scheme(keys[0], shape)
    stacked = jax.vmap(lambda key: scheme(key, shape))(keys)
    legacy = scheme(legacy_key, shape)
    zero_size = [scheme(keys[0], zero_shape, dtype) for dtype in (jnp.float32, jnp.bfloat16)]
    return single, stacked, legacy, zero_size


@functools.partial(jax.jit, static_argnums=(0, 2))
def _low_precision_program(scheme, key, shape):
    dtypes = [jnp.bfloat16, jnp.float16]
    if _accepts_complex(scheme):
        dtypes.append(jnp.complex64)
    return [scheme(key, shape, dtype) for dtype in dtypes]


@functools.cache
def _traced(scheme, shape, zero_shape):
    """Run the traced calls of ``scheme`` once; every test of an equal scheme reads the result."""
    return _traced_program(scheme, TRACED_KEYS, LEGACY_KEY, shape, zero_shape)


def _traced_for(name):
    return _traced(_scheme(name), _shape(name), ZERO_SIZE_SHAPES.get(name, (0, 16)))


def _assert_same_bits(actual, expected):
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def _assert_finite(values):
    assert bool(jnp.isfinite(values).all())


@pytest.mark.parametrize("name", NAMES)
def test_conformance_float32_eager(name):
    scheme, shape = _scheme(name), _shape(name)

    explicit = scheme(TRACED_KEYS[0], shape, jnp.float32)
    default = scheme(TRACED_KEYS[0], shape)

    assert explicit.shape == shape
    assert explicit.dtype == jnp.float32
    _assert_same_bits(default, explicit)
    _assert_finite(explicit)


@pytest.mark.slow
@pytest.mark.parametrize("name", FIRST_NAMES)
def test_conformance_low_precision_and_complex(name):
    scheme, shape = _scheme(name), _shape(name)
    low_precision = _low_precision_program(scheme, TRACED_KEYS[0], shape)

    dtypes = [jnp.bfloat16, jnp.float16]
    if _accepts_complex(scheme):
        dtypes.append(jnp.complex64)
    assert len(low_precision) == len(dtypes)
    for values, dtype in zip(low_precision, dtypes, strict=True):
        assert values.shape == shape
        assert values.dtype == dtype
        _assert_finite(values)


@pytest.mark.parametrize("name", REAL_ONLY_NAMES)
def test_conformance_complex_rejected(name):
    scheme, shape = _scheme(name), _shape(name)

    with pytest.raises(TypeError, match=r"draws random values, so it accepts only floating"):
        scheme(jax.random.key(0), shape, jnp.complex64)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_eager_jit_vmap_identical(name):
    scheme, shape = _scheme(name), _shape(name)
    single, stacked, _, _ = _traced_for(name)

    eager = [scheme(key, shape) for key in TRACED_KEYS]

    _assert_same_bits(single, eager[0])
    assert stacked.shape == (len(TRACED_KEYS), *shape)
    for index, expected in enumerate(eager):
        _assert_same_bits(stacked[index], expected)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_typed_and_legacy_keys(name):
    scheme, shape = _scheme(name), _shape(name)
    _, _, legacy, _ = _traced_for(name)

    typed = scheme(TRACED_KEYS[0], shape)

    assert LEGACY_KEY.dtype == jnp.uint32
    _assert_same_bits(legacy, typed)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_value_semantics(name):
    scheme = _scheme(name)
    twin = _scheme(name)

    assert scheme == twin
    assert hash(scheme) == hash(twin)
    text = repr(scheme)
    assert text.startswith(f"{type(scheme).__name__}(")
    for field in dataclasses.fields(scheme):
        assert f"{field.name}=" in text
    assert pickle.loads(pickle.dumps(scheme)) == scheme


@pytest.mark.parametrize("name", NAMES)
def test_conformance_config_round_trip(name):
    scheme = _scheme(name)
    config = to_config(scheme)

    assert get(config) == scheme
    assert get(json.dumps(config)) == scheme
    assert to_config(get(config)) == config


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_conformance_equal_schemes_compile_once(name):
    shape = _fresh_shape(name)
    schemes = [_scheme(name) for _ in range(3)]
    before = _sample_compiled._cache_size()

    results = [scheme(jax.random.key(0), shape) for scheme in schemes]

    assert _sample_compiled._cache_size() == before + 1
    _assert_same_bits(results[2], results[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", FIRST_NAMES)
def test_conformance_float64_equal_schemes_compile_once(name):
    shape = _fresh_shape(name)
    schemes = [_scheme(name) for _ in range(3)]

    with jax.enable_x64(True):
        before = _sample_compiled._cache_size()
        explicit = [scheme(jax.random.key(0), shape, jnp.float64) for scheme in schemes]
        default = schemes[0](jax.random.key(0), shape)
        after = _sample_compiled._cache_size()

    assert after == before + 1
    for values in explicit:
        assert values.shape == shape
        assert values.dtype == jnp.float64
        _assert_same_bits(values, explicit[0])
    assert default.dtype == jnp.float64
    _assert_finite(explicit[0])


@pytest.mark.parametrize("name", NAMES)
def test_conformance_zero_size_shape(name):
    scheme = _scheme(name)
    shape = ZERO_SIZE_SHAPES.get(name, (0, 16))
    _, _, _, traced = _traced_for(name)

    eager = [scheme(jax.random.key(0), shape, dtype) for dtype in (jnp.float32, jnp.bfloat16)]

    for values, dtype in zip(eager + traced, [jnp.float32, jnp.bfloat16] * 2, strict=True):
        assert values.shape == shape
        assert values.dtype == dtype


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_conformance_integer_dtype_rejected(name):
    scheme, shape = _scheme(name), _shape(name)
    message = rf"^{type(scheme).__name__} draws random values, so it accepts only"

    for dtype in (jnp.int32, jnp.bool_):
        with pytest.raises(TypeError, match=message):
            scheme(jax.random.key(0), shape, dtype)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_matches_jax_initializer_protocol(name):
    assert isinstance(_scheme(name), jax.nn.initializers.Initializer)
