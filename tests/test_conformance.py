"""The contract that every registry name keeps, checked name by name.

Each scheme is built from its registry name (with the fields in
``REQUIRED_FIELDS`` where the builder needs some) and called on a shape that
suits it (``SHAPES``), so a new registry name is covered without a new test.

Several names build equal schemes (``he_normal``, ``kaiming_normal`` and
``keras:he_normal``), and equal schemes share every compilation, so checks
that compile run once per distinct scheme. Compiling one scheme took about
0.5 s of CPU time, and a vmapped one 1 to 2 s, on a shared 2-core AMD EPYC
machine. So the fast step runs the vmap and legacy-key checks for one name
per code path (scheme class and distribution). The slow step runs them for
every distinct scheme, together with the 16-bit, complex and float64 checks.
"""

import dataclasses
import functools
import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit.combinators import PerSlice, Scaled
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
DEFAULT_ZERO_SIZE_SHAPE = (0, 16)
ZERO_SIZE_SHAPES = {
    "delta_orthogonal": (3, 3, 0, 8),
    "dirac": (3, 3, 0, 8),
    "torch:dirac": (3, 3, 0, 8),
}


def _scheme(name):
    return get({"name": name, **REQUIRED_FIELDS.get(name, {})})


def _shape(name):
    return SHAPES.get(name, DEFAULT_SHAPE)


def _zero_size_shape(name):
    return ZERO_SIZE_SHAPES.get(name, DEFAULT_ZERO_SIZE_SHAPE)


def _fresh_shape(name):
    """Return a shape that no other test compiles: an input size of 5 and an even output size."""
    shape = _shape(name)
    return (*shape[:-2], 5, 2 * (16 + NAMES.index(name)))


def _accepts_complex(scheme):
    return scheme.allow_complex or not scheme.random


def _code_path(scheme):
    """Return what selects the sampling code of ``scheme``: its class and distribution."""
    if isinstance(scheme, Scaled | PerSlice):
        return (type(scheme), _code_path(scheme.init))
    return (type(scheme), getattr(scheme, "distribution", None))


def _first_names(key):
    """Return the first name of each group of names whose schemes share ``key(scheme)``."""
    seen, names = [], []
    for name in NAMES:
        value = key(_scheme(name))
        if value not in seen:
            seen.append(value)
            names.append(name)
    return names


DISTINCT_NAMES = _first_names(lambda scheme: scheme)
PATH_NAMES = _first_names(_code_path)
CLASS_NAMES = _first_names(type)
RANDOM_NAMES = [name for name in NAMES if _scheme(name).random]
REAL_ONLY_NAMES = [name for name in NAMES if not _accepts_complex(_scheme(name))]
# One name per code path in the fast step, every distinct scheme in the slow step.
PATH_PARAMS = [
    name if name in PATH_NAMES else pytest.param(name, marks=pytest.mark.slow)
    for name in DISTINCT_NAMES
]

KEYS = jax.random.split(jax.random.key(1), 3)
# The legacy uint32 form of the same key as KEYS[0].
LEGACY_KEY = jax.random.key_data(KEYS[0])


@functools.partial(jax.jit, static_argnums=(0, 2, 3))
def _jit_program(scheme, key, shape, zero_shape):
    single = scheme(key, shape)
    zero_size = [scheme(key, zero_shape, dtype) for dtype in (jnp.float32, jnp.bfloat16)]
    return single, zero_size


@functools.partial(jax.jit, static_argnums=(0, 2))
def _vmap_program(scheme, keys, shape):
    return jax.vmap(lambda key: scheme(key, shape))(keys)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _low_precision_program(scheme, key, shape):
    dtypes = [jnp.bfloat16, jnp.float16]
    if _accepts_complex(scheme):
        dtypes.append(jnp.complex64)
    return [scheme(key, shape, dtype) for dtype in dtypes]


@functools.cache
def _jitted(scheme, shape, zero_shape):
    """Run the jitted calls of ``scheme`` once; the tests of equal schemes share the result."""
    return _jit_program(scheme, KEYS[0], shape, zero_shape)


def _jitted_for(name):
    return _jitted(_scheme(name), _shape(name), _zero_size_shape(name))


def _assert_same_bits(actual, expected):
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def _assert_finite(values):
    assert bool(jnp.isfinite(values).all())


@pytest.mark.parametrize("name", NAMES)
def test_conformance_float32_eager(name):
    scheme, shape = _scheme(name), _shape(name)

    explicit = scheme(KEYS[0], shape, jnp.float32)
    default = scheme(KEYS[0], shape)

    assert explicit.shape == shape
    assert explicit.dtype == jnp.float32
    _assert_same_bits(default, explicit)
    _assert_finite(explicit)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_eager_equals_jit(name):
    scheme, shape = _scheme(name), _shape(name)
    single, _ = _jitted_for(name)

    _assert_same_bits(single, scheme(KEYS[0], shape))


@pytest.mark.parametrize("name", PATH_PARAMS)
def test_conformance_vmap_members_equal_eager(name):
    scheme, shape = _scheme(name), _shape(name)

    stacked = _vmap_program(scheme, KEYS, shape)

    assert stacked.shape == (len(KEYS), *shape)
    for index, key in enumerate(KEYS):
        _assert_same_bits(stacked[index], scheme(key, shape))


@pytest.mark.parametrize("name", PATH_PARAMS)
def test_conformance_typed_and_legacy_keys(name):
    scheme, shape = _scheme(name), _shape(name)

    legacy = scheme(LEGACY_KEY, shape)

    assert LEGACY_KEY.dtype == jnp.uint32
    _assert_same_bits(legacy, scheme(KEYS[0], shape))


@pytest.mark.slow
@pytest.mark.parametrize("name", DISTINCT_NAMES)
def test_conformance_low_precision_and_complex(name):
    scheme, shape = _scheme(name), _shape(name)

    results = _low_precision_program(scheme, KEYS[0], shape)

    dtypes = [jnp.bfloat16, jnp.float16]
    if _accepts_complex(scheme):
        dtypes.append(jnp.complex64)
    assert len(results) == len(dtypes)
    for values, dtype in zip(results, dtypes, strict=True):
        assert values.shape == shape
        assert values.dtype == dtype
        _assert_finite(values)


@pytest.mark.parametrize("name", REAL_ONLY_NAMES)
def test_conformance_complex_rejected(name):
    scheme, shape = _scheme(name), _shape(name)
    message = rf"^{type(scheme).__name__} draws random values, so it accepts only floating dtypes"

    with pytest.raises(TypeError, match=message):
        scheme(jax.random.key(0), shape, jnp.complex64)


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_conformance_integer_dtype_rejected(name):
    scheme, shape = _scheme(name), _shape(name)
    message = rf"^{type(scheme).__name__} draws random values, so it accepts only"

    for dtype in (jnp.int32, jnp.bool_):
        with pytest.raises(TypeError, match=message):
            scheme(jax.random.key(0), shape, dtype)


@pytest.mark.parametrize("name", NAMES)
def test_conformance_zero_size_shape(name):
    scheme, shape = _scheme(name), _zero_size_shape(name)
    _, jitted = _jitted_for(name)

    eager = [scheme(jax.random.key(0), shape, dtype) for dtype in (jnp.float32, jnp.bfloat16)]

    for values, dtype in zip(eager + jitted, [jnp.float32, jnp.bfloat16] * 2, strict=True):
        assert values.shape == shape
        assert values.dtype == dtype


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_conformance_equal_schemes_compile_once(name):
    shape = _fresh_shape(name)
    schemes = [_scheme(name) for _ in range(3)]
    before = _sample_compiled._cache_size()

    results = [scheme(jax.random.key(0), shape) for scheme in schemes]

    assert _sample_compiled._cache_size() == before + 1
    _assert_same_bits(results[2], results[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", DISTINCT_NAMES)
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
def test_conformance_value_semantics(name):
    scheme = _scheme(name)
    twin = _scheme(name)

    assert scheme == twin
    assert hash(scheme) == hash(twin)
    assert pickle.loads(pickle.dumps(scheme)) == scheme
    text = repr(scheme)
    assert text.startswith(f"{type(scheme).__name__}(")
    for field in dataclasses.fields(scheme):
        assert f"{field.name}=" in text


@pytest.mark.parametrize("name", NAMES)
def test_conformance_config_round_trip(name):
    scheme = _scheme(name)
    config = to_config(scheme)

    assert get(config) == scheme
    assert get(json.dumps(config)) == scheme
    assert to_config(get(config)) == config


@pytest.mark.parametrize("name", NAMES)
def test_conformance_matches_jax_initializer_protocol(name):
    assert isinstance(_scheme(name), jax.nn.initializers.Initializer)
