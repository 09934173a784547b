import json
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxinit.basic import constant, normal, ones, truncated_normal, uniform, zeros
from jaxinit.combinators import per_slice, scaled
from jaxinit.core import Initializer
from jaxinit.fans import calculate_gain
from jaxinit.registry import MAX_DEPTH, MAX_FIELDS, get, list_schemes, to_config
from jaxinit.structured import dirac, identity, orthogonal, sparse
from jaxinit.variance import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)

KERAS_NAMES = [
    "keras:uniform",
    "keras:normal",
    "keras:truncated_normal",
    "keras:zeros",
    "keras:ones",
    "keras:glorot_uniform",
    "keras:glorot_normal",
    "keras:he_normal",
    "keras:he_uniform",
    "keras:lecun_normal",
    "keras:lecun_uniform",
    "keras:orthogonal",
    "keras:identity",
]
TORCH_NAMES = [
    "torch:kaiming_uniform",
    "torch:kaiming_normal",
    "torch:xavier_uniform",
    "torch:xavier_normal",
    "torch:linear",
    "torch:normal",
    "torch:uniform",
    "torch:trunc_normal",
    "torch:orthogonal",
    "torch:sparse",
    "torch:dirac",
    "torch:eye",
    "torch:zeros",
    "torch:ones",
]

# E[x^4] / E[x^2]^2 of each distribution, for the standard error of a sample
# variance: variance * sqrt((ratio - 1) / n).
NORMAL_RATIO = 3.0
UNIFORM_RATIO = 9 / 5


def _sample(name_or_config, shape, seed=0):
    return np.asarray(get(name_or_config)(jax.random.key(seed), shape), np.float64).ravel()


def _assert_variance(sample, variance, ratio):
    standard_error = variance * math.sqrt((ratio - 1) / sample.size)
    assert abs(sample.var() - variance) < 6 * standard_error


def _assert_mean(sample, mean, variance):
    assert abs(sample.mean() - mean) < 6 * math.sqrt(variance / sample.size)


def _raises(error, message):
    return pytest.raises(error, match=f"^{re.escape(message)}$")


# get and to_config


def test_get_name_builds_core_scheme():
    assert get("lecun_normal") == lecun_normal()
    assert get("xavier_uniform") == glorot_uniform()
    assert get("kaiming_normal") == he_normal()
    assert get("zeros") is zeros
    assert get("ones") is ones


def test_get_returns_initializer_unchanged():
    scheme = scaled(lecun_normal(), 2.0)

    assert get(scheme) is scheme


def test_get_config_with_fields():
    scheme = get({"name": "normal", "stddev": 0.1, "dtype": "bfloat16", "mean": -0.5})

    assert scheme == normal(0.1, jnp.bfloat16, mean=-0.5)
    assert scheme(jax.random.key(0), (4,)).dtype == jnp.bfloat16


def test_get_config_lists_become_tuples():
    scheme = get(
        {
            "name": "variance_scaling",
            "scale": 2.0,
            "mode": "fan_in",
            "distribution": "normal",
            "in_axis": [1, 2],
            "batch_axis": [0],
        }
    )

    assert scheme == variance_scaling(2.0, "fan_in", "normal", in_axis=(1, 2), batch_axis=(0,))
    assert scheme.in_axis == (1, 2)


def test_get_json_string():
    assert get('{"name": "normal", "stddev": 0.1}') == normal(0.1)
    assert get('  {"name": "keras:uniform"}') == uniform(minval=-0.05, maxval=0.05)


def test_get_nested_config():
    config = {
        "name": "scaled",
        "init": {"name": "per_slice", "init": "lecun_normal", "sections": [32, 64]},
        "factor": 0.5,
    }

    scheme = get(config)

    assert scheme == scaled(per_slice(lecun_normal(), sections=(32, 64)), 0.5)
    assert get(json.dumps(config)) == scheme


def test_to_config_plain_data():
    assert to_config(normal(0.1)) == {"name": "normal", "stddev": 0.1, "dtype": None, "mean": 0.0}
    assert to_config(zeros) == {"name": "zeros"}
    assert to_config(constant(3, jnp.int8)) == {"name": "constant", "value": 3, "dtype": "int8"}


def test_to_config_named_family_is_variance_scaling():
    config = to_config(lecun_normal(batch_axis=0, dtype=jnp.bfloat16))

    assert config == {
        "name": "variance_scaling",
        "scale": 1.0,
        "mode": "fan_in",
        "distribution": "truncated_normal",
        "in_axis": -2,
        "out_axis": -1,
        "batch_axis": 0,
        "dtype": "bfloat16",
    }
    assert get(config) == lecun_normal(batch_axis=0, dtype=jnp.bfloat16)


def test_to_config_nests_combinators_under_init():
    scheme = scaled(per_slice(he_uniform(), sections=(8, 24)), -2.0)

    config = to_config(scheme)

    assert config["name"] == "scaled"
    assert config["factor"] == -2.0
    assert config["init"]["name"] == "per_slice"
    assert config["init"]["sections"] == [8, 24]
    assert config["init"]["init"]["name"] == "variance_scaling"
    assert json.loads(json.dumps(config)) == config
    assert get(config) == scheme


def test_to_config_round_trip_with_arguments():
    schemes = [
        truncated_normal(0.02, jnp.float16, -1.5, 3.0, mean=0.25),
        uniform(minval=-0.3, maxval=0.7, dtype=jnp.bfloat16),
        orthogonal(2.0, 0),
        sparse(0.25, 0.1),
        dirac(2, jnp.int32),
        get({"name": "siren", "is_first": True, "w0": 10.0, "batch_axis": [0]}),
    ]

    for scheme in schemes:
        assert get(to_config(scheme)) == scheme
        assert get(json.dumps(to_config(scheme))) == scheme


def test_to_config_complex_constant_rejected():
    message = (
        "to_config: field 'value' of 'constant' is 1j, which a config cannot contain; a "
        "config contains only strings, ints, floats, booleans, None and lists of ints."
    )

    with _raises(ValueError, message):
        to_config(constant(1j))


def test_to_config_unregistered_scheme_rejected():
    class Custom(Initializer):
        def _sample(self, key, shape, dtype):
            return jnp.zeros(shape, dtype)

    message = (
        "to_config: Custom has no registry name, so it has no config; only the schemes that "
        "jaxinit.list_schemes() builds have one."
    )
    with _raises(TypeError, message):
        to_config(Custom())
    with _raises(TypeError, "to_config: scheme must be a jaxinit Initializer, got function."):
        to_config(jax.nn.initializers.lecun_normal())


# list_schemes


def test_list_schemes_sorted_with_descriptions():
    rows = list_schemes()
    names = [name for name, _ in rows]

    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name, description in rows:
        assert description
        assert "\n" not in description
        assert len(description) <= 100, name
    assert set(KERAS_NAMES + TORCH_NAMES) <= set(names)


# Keras aliases (keras.initializers in Keras 3)


def test_keras_uniform_bounds_and_variance():
    assert get("keras:uniform") == uniform(minval=-0.05, maxval=0.05)
    sample = _sample("keras:uniform", (200_000,))

    assert sample.min() >= -0.05
    assert sample.max() < 0.05
    assert sample.min() < -0.0499
    assert sample.max() > 0.0499
    variance = 0.05**2 / 3
    _assert_variance(sample, variance, UNIFORM_RATIO)
    _assert_mean(sample, 0.0, variance)


def test_keras_normal_stddev():
    assert get("keras:normal") == normal(0.05)
    sample = _sample("keras:normal", (200_000,))

    _assert_variance(sample, 0.05**2, NORMAL_RATIO)
    _assert_mean(sample, 0.0, 0.05**2)


def test_keras_truncated_normal_two_stddevs():
    assert get("keras:truncated_normal") == truncated_normal(0.05, None, -2.0, 2.0)
    sample = _sample("keras:truncated_normal", (200_000,))

    unit = stats.truncnorm(-2.0, 2.0)
    assert np.abs(sample).max() <= 0.1
    variance = 0.05**2 * unit.var()
    _assert_variance(sample, variance, unit.moment(4) / unit.moment(2) ** 2)


def test_keras_variance_scaling_aliases_are_core_schemes():
    assert get("keras:glorot_uniform") == glorot_uniform()
    assert get("keras:glorot_normal") == glorot_normal()
    assert get("keras:he_normal") == he_normal()
    assert get("keras:he_uniform") == he_uniform()
    assert get("keras:lecun_normal") == lecun_normal()
    assert get("keras:lecun_uniform") == lecun_uniform()
    assert get("keras:zeros") is zeros
    assert get("keras:ones") is ones


def test_keras_orthogonal_and_identity_gain():
    assert get({"name": "keras:orthogonal", "gain": 2.0}) == orthogonal(2.0)
    values = get({"name": "keras:identity", "gain": 3.0})(jax.random.key(0), (3, 4))

    np.testing.assert_array_equal(np.asarray(values), 3.0 * np.eye(3, 4))


# PyTorch aliases (torch.nn.init in PyTorch 2)


def test_torch_kaiming_uniform_default_is_he_uniform():
    scheme = get("torch:kaiming_uniform")

    assert scheme == variance_scaling(2.0, "fan_in", "uniform")
    sample = _sample(scheme, (400, 300))
    bound = math.sqrt(2.0) * math.sqrt(3 / 400)
    assert np.abs(sample).max() < bound
    assert np.abs(sample).max() > 0.999 * bound


def test_torch_kaiming_uniform_arguments():
    scheme = get(
        {"name": "torch:kaiming_uniform", "a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}
    )

    assert scheme.mode == "fan_out"
    assert scheme.distribution == "uniform"
    assert scheme.scale == pytest.approx(calculate_gain("leaky_relu", 0.2) ** 2, rel=1e-15)


@pytest.mark.parametrize("nonlinearity", ["linear", "sigmoid", "tanh", "relu", "selu", "conv2d"])
def test_torch_kaiming_scale_is_squared_gain(nonlinearity):
    for name in ("torch:kaiming_uniform", "torch:kaiming_normal"):
        scheme = get({"name": name, "nonlinearity": nonlinearity})

        assert scheme.scale == pytest.approx(calculate_gain(nonlinearity) ** 2, rel=1e-15)


def test_torch_kaiming_normal_is_plain_normal():
    scheme = get({"name": "torch:kaiming_normal", "nonlinearity": "relu", "mode": "fan_out"})
    assert scheme == variance_scaling(2.0, "fan_out", "normal")

    sample = _sample(scheme, (300, 500))
    variance = 2 / 500
    _assert_variance(sample, variance, NORMAL_RATIO)
    # Untruncated: P(|z| > 2) = 0.0455, with standard error sqrt(p (1 - p) / n).
    beyond = np.mean(np.abs(sample) > 2 * math.sqrt(variance))
    assert abs(beyond - 0.0455) < 6 * math.sqrt(0.0455 * 0.9545 / sample.size)


def test_torch_xavier_gain():
    uniform_scheme = get({"name": "torch:xavier_uniform", "gain": 2.0})
    normal_scheme = get({"name": "torch:xavier_normal", "gain": 2.0})

    assert uniform_scheme == variance_scaling(4.0, "fan_avg", "uniform")
    assert normal_scheme == variance_scaling(4.0, "fan_avg", "normal")
    bound = 2.0 * math.sqrt(6 / (200 + 300))
    sample = _sample(uniform_scheme, (200, 300))
    assert np.abs(sample).max() < bound
    assert np.abs(sample).max() > 0.999 * bound
    _assert_variance(_sample(normal_scheme, (200, 300)), 4.0 * 2 / 500, NORMAL_RATIO)


def test_torch_linear_dense_bound_and_variance():
    assert get("torch:linear") == variance_scaling(1 / 3, "fan_in", "uniform")
    sample = _sample("torch:linear", (400, 300))

    assert np.abs(sample).max() <= 0.05
    assert np.abs(sample).max() > 0.0499
    _assert_variance(sample, 1 / (3 * 400), UNIFORM_RATIO)


def test_torch_linear_conv_bound_and_variance():
    sample = _sample("torch:linear", (3, 3, 16, 32))

    fan_in = 3 * 3 * 16
    assert np.abs(sample).max() <= 1 / 12
    assert np.abs(sample).max() > 0.99 / 12
    _assert_variance(sample, 1 / (3 * fan_in), UNIFORM_RATIO)


def test_torch_normal_and_uniform_defaults():
    assert get("torch:normal") == normal(1.0)
    assert get("torch:uniform") == uniform(minval=0.0, maxval=1.0)

    sample = _sample("torch:uniform", (100_000,))
    assert sample.min() >= 0.0
    assert sample.max() < 1.0
    _assert_mean(sample, 0.5, 1 / 12)


def test_torch_trunc_normal_default_absolute_bounds():
    sample = _sample("torch:trunc_normal", (200_000,))

    assert sample.min() >= -2.0
    assert sample.max() <= 2.0
    assert sample.min() < -1.99


def test_torch_trunc_normal_shifted_absolute_bounds():
    config = {"name": "torch:trunc_normal", "mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}
    scheme = get(config)
    sample = _sample(config, (200_000,))

    assert scheme == truncated_normal(2.0, None, -0.75, 1.25, mean=0.5)
    assert sample.min() >= -1.0
    assert sample.max() <= 3.0
    exact = stats.truncnorm(-0.75, 1.25, loc=0.5, scale=2.0)
    _assert_mean(sample, exact.mean(), exact.var())


def test_torch_trunc_normal_small_std_is_untruncated():
    sample = _sample({"name": "torch:trunc_normal", "std": 0.02}, (200_000,))

    # With absolute bounds at +-2 and std 0.02, truncation removes nothing.
    _assert_variance(sample, 0.02**2, NORMAL_RATIO)


def test_torch_structured_aliases():
    assert get({"name": "torch:orthogonal", "gain": 2.0}) == orthogonal(2.0)
    assert get({"name": "torch:sparse", "sparsity": 0.3, "std": 0.1}) == sparse(0.3, 0.1)
    assert get({"name": "torch:dirac", "groups": 2}) == dirac(2)
    assert get("torch:eye") == identity()
    assert get("torch:zeros") is zeros
    assert get("torch:ones") is ones


def test_torch_alias_config_is_core_config():
    config = to_config(get("torch:linear"))

    assert config["name"] == "variance_scaling"
    assert config["scale"] == 1 / 3


# Bad names and configs


def test_get_unknown_name_lists_close_matches():
    message = (
        "get: unknown initializer name 'lecun_norml'. Did you mean 'lecun_normal', "
        "'lecun_uniform' or 'keras:lecun_normal'? Run 'jaxinit list' or call "
        "jaxinit.list_schemes() to see every name."
    )

    with _raises(ValueError, message):
        get("lecun_norml")


def test_get_unknown_name_without_close_match():
    message = (
        "get: unknown initializer name 'foo'. Run 'jaxinit list' or call "
        "jaxinit.list_schemes() to see every name."
    )

    with _raises(ValueError, message):
        get("foo")


def test_get_code_string_is_only_a_name():
    message = (
        "get: unknown initializer name \"__import__('os').system('true')\". Run 'jaxinit "
        "list' or call jaxinit.list_schemes() to see every name."
    )

    with _raises(ValueError, message):
        get("__import__('os').system('true')")


def test_get_code_string_field_is_rejected_by_scheme():
    config = {
        "name": "variance_scaling",
        "scale": 1.0,
        "mode": "__import__('os')",
        "distribution": "normal",
    }
    message = (
        "variance_scaling: mode must be one of 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg', "
        "got \"__import__('os')\"."
    )

    with _raises(ValueError, message):
        get(config)


def test_get_code_string_dtype_rejected():
    message = (
        "get: field 'dtype' of 'normal' is \"__import__('os')\", which is not a dtype name; "
        "use a name such as 'float32', 'bfloat16' or 'float16'."
    )

    with _raises(ValueError, message):
        get({"name": "normal", "dtype": "__import__('os')"})


@pytest.mark.parametrize("dtype", ["f4", "<f4", "f4,i4", "float"])
def test_get_dtype_needs_canonical_name(dtype):
    with pytest.raises(ValueError, match=r"which is not a dtype name"):
        get({"name": "normal", "dtype": dtype})


def test_get_dtype_wrong_kind():
    message = (
        "get: field 'dtype' of 'normal' must be a dtype name such as 'float32' or 'bfloat16', "
        "or None, got 32."
    )

    with _raises(TypeError, message):
        get({"name": "normal", "dtype": 32})


def test_get_very_long_name():
    message = f"get: the name '{'a' * 56}... has 10000 characters; registry names have at most 128."

    with _raises(ValueError, message):
        get("a" * 10_000)


def test_get_very_long_string_field():
    config = {"name": "variance_scaling", "scale": 1.0, "mode": "x" * 5000, "distribution": "u"}
    message = (
        "get: field 'mode' of 'variance_scaling' is a string of 5000 characters; strings in a "
        "config have at most 128."
    )

    with _raises(ValueError, message):
        get(config)


def test_get_unknown_field():
    message = (
        "get: unknown field 'stdev' for 'normal'; accepted fields are stddev, dtype, mean. "
        "Did you mean 'stddev'?"
    )

    with _raises(ValueError, message):
        get({"name": "normal", "stdev": 0.1})


def test_get_unknown_field_for_scheme_without_fields():
    with _raises(ValueError, "get: unknown field 'dtype' for 'zeros'; accepted fields are none."):
        get({"name": "zeros", "dtype": "float32"})


def test_get_missing_required_field():
    message = (
        "get: 'constant' needs the field 'value', so pass a config such as "
        "{'name': 'constant', 'value': ...}; accepted fields are value, dtype."
    )

    with _raises(ValueError, message):
        get("constant")
    with _raises(ValueError, message):
        get({"name": "constant"})


def test_get_wrong_field_type_raises_scheme_error():
    with _raises(TypeError, "normal: stddev must be a real number, got 'big'."):
        get({"name": "normal", "stddev": "big"})
    with _raises(ValueError, "normal: stddev must be non-negative, got -1.0."):
        get({"name": "normal", "stddev": -1})


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"a": 1}, "{'a': 1}"), ([0.5, 1.5], "[0.5, 1.5]"), ([True], "[True]"), (1j, "1j")],
)
def test_get_field_of_wrong_kind(value, shown):
    message = (
        f"get: field 'stddev' of 'normal' is {shown}; a config field must be a string, a "
        "number, a boolean, None or a list of ints."
    )

    with _raises(TypeError, message):
        get({"name": "normal", "stddev": value})


def test_get_nested_init_of_wrong_kind():
    message = "get: field 'init' of 'scaled' must be a registry name or a config, got 5."

    with _raises(TypeError, message):
        get({"name": "scaled", "init": 5, "factor": 1.0})


@pytest.mark.parametrize(("value", "kind"), [(3, "int"), (None, "NoneType"), (b"zeros", "bytes")])
def test_get_argument_of_wrong_kind(value, kind):
    message = (
        "get: expected a registry name, a config dict, a JSON object string or an "
        f"Initializer, got {kind}."
    )

    with _raises(TypeError, message):
        get(value)


def test_get_config_without_name():
    message = (
        "get: the config {'stddev': 0.1} has no 'name' field; add the registry name, for "
        "example {'name': 'lecun_normal'}."
    )

    with _raises(ValueError, message):
        get({"stddev": 0.1})


def test_get_config_bad_name_and_key_kinds():
    with _raises(TypeError, "get: the config name must be a string, got ['normal']."):
        get({"name": ["normal"]})
    with _raises(TypeError, "get: config keys must be strings, got 1."):
        get({"name": "normal", 1: 2})


def test_get_too_many_fields():
    config = {"name": "normal", **{f"field{index}": 0 for index in range(MAX_FIELDS)}}

    with _raises(ValueError, "get: the config has 65 fields; a config has at most 64."):
        get(config)


def _nested_scaled(levels):
    config = "lecun_normal"
    for _ in range(levels):
        config = {"name": "scaled", "init": config, "factor": 2.0}
    return config


def test_get_nesting_limit():
    deepest = get(_nested_scaled(MAX_DEPTH))
    message = (
        "get: the config nests more than 4 levels deep; nested scheme configs under 'init' "
        "may go at most 4 levels deep."
    )

    assert deepest.init.init.init.factor == 2.0
    with _raises(ValueError, message):
        get(_nested_scaled(MAX_DEPTH + 1))
    with _raises(ValueError, message):
        get(json.dumps(_nested_scaled(MAX_DEPTH + 1)))


def test_get_cyclic_config_stops_at_depth_limit():
    config = {"name": "scaled", "factor": 2.0}
    config["init"] = config

    with pytest.raises(ValueError, match=r"nests more than 4 levels deep"):
        get(config)


def test_get_deep_json_rejected_before_parsing():
    text = '{"name": "normal", "stddev": ' + "[" * 20_000 + "]" * 20_000 + "}"

    with pytest.raises(ValueError, match=r"^get: the config nests more than 4 levels deep"):
        get(text)


def test_get_brackets_inside_json_strings_do_not_count():
    text = '{"name": "normal", "stddev": 0.1, "dtype": "[[[[[[[[["}'

    with pytest.raises(ValueError, match=r"which is not a dtype name"):
        get(text)


@pytest.mark.parametrize(("text", "kind"), [("[1, 2]", "array"), ('"lecun_normal"', "string")])
def test_get_json_that_is_not_an_object(text, kind):
    message = (
        'get: a JSON config must be an object such as {"name": "normal", "stddev": 0.1}, '
        f"got a JSON {kind}."
    )

    with _raises(ValueError, message):
        get(text)


def test_get_invalid_json():
    message = "get: the JSON config is invalid: Expecting ',' delimiter at character 10."

    with _raises(ValueError, message):
        get('{"name": 1')


def test_get_json_duplicate_field():
    with _raises(ValueError, "get: the JSON config names the field 'stddev' twice."):
        get('{"name": "normal", "stddev": 0.1, "stddev": 0.2}')


def test_get_json_too_long():
    text = '{"name": "normal", "mean": 0' + " " * 70_000 + "}"
    message = "get: the JSON config has 70029 characters; a JSON config has at most 65536."

    with _raises(ValueError, message):
        get(text)


def test_torch_kaiming_slope_without_leaky_relu():
    message = (
        "torch:kaiming_uniform: a is the negative slope of leaky_relu, so it must be 0 with "
        "nonlinearity='relu', got a=0.2."
    )

    with _raises(ValueError, message):
        get({"name": "torch:kaiming_uniform", "a": 0.2, "nonlinearity": "relu"})


def test_torch_kaiming_bad_mode():
    message = "torch:kaiming_normal: mode must be one of 'fan_in', 'fan_out', got 'fan_avg'."

    with _raises(ValueError, message):
        get({"name": "torch:kaiming_normal", "mode": "fan_avg"})


def test_torch_trunc_normal_bad_arguments():
    with _raises(ValueError, "torch:trunc_normal: a must be smaller than b, got a=2.0 and b=-2.0."):
        get({"name": "torch:trunc_normal", "a": 2.0, "b": -2.0})
    with _raises(ValueError, "torch:trunc_normal: std must be positive, got 0.0."):
        get({"name": "torch:trunc_normal", "std": 0})


def test_torch_xavier_negative_gain():
    with _raises(ValueError, "torch:xavier_uniform: gain must be non-negative, got -1.0."):
        get({"name": "torch:xavier_uniform", "gain": -1.0})
