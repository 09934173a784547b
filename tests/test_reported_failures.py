"""Inputs on which other initializer libraries fail, and the whole kind of fault behind each.

Each section starts with the small input that goes wrong elsewhere and then
checks the same property across every scheme of core, fans, basic and
variance where it applies. Kernel layout is Flax's: ``(*spatial, in, out)``.
"""

import inspect
import math
import pickle
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from stats import (
    Moments,
    as_float64,
    assert_mean,
    assert_moments,
    normal_moments,
    truncnorm_moments,
    uniform_moments,
)

import jaxinit
from jaxinit import basic, registry, variance

KEY = jax.random.key(0)
TRUNCATED_STDDEV = float(scipy.stats.truncnorm(-2.0, 2.0).std())
BIAS_HINT = (
    "a fan-based scheme needs at least two axes (inputs and outputs); "
    "for a bias or other 1-D parameter use zeros, constant or normal instead"
)


def _public_builders(module):
    """The public builder functions defined in ``module``, by name."""
    return {
        name: function
        for name, function in vars(module).items()
        if inspect.isfunction(function)
        and not name.startswith("_")
        and function.__module__ == module.__name__
    }


BASIC_BUILDERS = _public_builders(basic)
VARIANCE_BUILDERS = _public_builders(variance)
# Fan-based builders that take no required argument.
FAN_BUILDERS = {name: f for name, f in VARIANCE_BUILDERS.items() if name != "variance_scaling"}


def _default_schemes():
    """One instance of every scheme of basic and variance, built with defaults."""
    schemes = {"zeros": jaxinit.zeros, "ones": jaxinit.ones, "constant": jaxinit.constant(0.5)}
    schemes.update(
        normal=jaxinit.normal(),
        uniform=jaxinit.uniform(),
        uniform_range=jaxinit.uniform(minval=-1.0, maxval=2.0),
        truncated_normal=jaxinit.truncated_normal(),
    )
    schemes.update({name: builder() for name, builder in FAN_BUILDERS.items()})
    for mode in variance.MODES:
        for distribution in variance.DISTRIBUTIONS:
            schemes[f"variance_scaling_{mode}_{distribution}"] = jaxinit.variance_scaling(
                1.0, mode, distribution
            )
    return schemes


ALL_SCHEMES = _default_schemes()
RANDOM_SCHEMES = {name: s for name, s in ALL_SCHEMES.items() if s.random}


def test_catalogue_lists_every_builder():
    assert set(BASIC_BUILDERS) == {"constant", "normal", "uniform", "truncated_normal"}
    assert len(FAN_BUILDERS) == 19


# A stack of kernels along a batch axis must not fold the stack into the fans.


def test_batch_axis_excluded_from_fans():
    assert jaxinit.compute_fans((8, 256, 128), batch_axis=0) == (256, 128)


def test_stacked_kernels_keep_per_kernel_variance():
    shape = (5, 100, 200)
    init = jaxinit.variance_scaling(2.0, "fan_in", "truncated_normal", batch_axis=0)
    values = np.asarray(init(KEY, shape), dtype=np.float64)
    target = math.sqrt(2.0 / 100)

    assert abs(values.std() / target - 1) <= 0.03
    assert_moments(values, truncnorm_moments(-2.0, 2.0, target / TRUNCATED_STDDEV))
    for i in range(shape[0]):
        for j in range(i):
            assert not np.array_equal(values[i], values[j])


@pytest.mark.parametrize("distribution", variance.DISTRIBUTIONS)
def test_stacked_kernels_every_distribution(distribution):
    shape = (4, 200, 300)
    init = jaxinit.variance_scaling(2.0, "fan_avg", distribution, batch_axis=0)
    values = as_float64(init(KEY, shape))
    target_variance = 2.0 / 250
    # Folding the 4 stacked kernels into the fans would give a quarter of it.
    estimate = values.var()
    assert abs(estimate / target_variance - 1) <= 0.02


# A 1-D or 0-D shape has no fan-in and fan-out: raise with a hint, never guess.


@pytest.mark.parametrize("shape", [(5,), ()])
def test_compute_fans_rejects_rank_below_two(shape):
    message = f"compute_fans: got shape {shape}, but {BIAS_HINT}."
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.compute_fans(shape)


@pytest.mark.parametrize("shape", [(5,), (), (0,)])
@pytest.mark.parametrize("name", list(FAN_BUILDERS))
def test_every_fan_scheme_rejects_rank_below_two(name, shape):
    scheme = FAN_BUILDERS[name]()
    label = f"variance_scaling(mode={scheme.mode!r}, distribution={scheme.distribution!r})"
    message = f"{label}: got shape {shape}, but {BIAS_HINT}."
    with pytest.raises(ValueError, match=re.escape(message)):
        scheme(KEY, shape)


# A zero-sized axis gives an empty array of that shape and dtype, not a
# division by zero.


def test_compute_fans_zero_sized_axis():
    assert jaxinit.compute_fans((3, 3, 0, 8)) == (0, 72)
    assert jaxinit.compute_fans((0, 5)) == (0, 5)
    assert jaxinit.compute_fans((5, 0)) == (5, 0)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (3, 3, 0, 8)])
def test_lecun_normal_zero_sized_shape_eager_and_jit(shape):
    init = jaxinit.lecun_normal()
    eager = init(KEY, shape)
    jitted = jax.jit(lambda key: init(key, shape))(KEY)
    for values in (eager, jitted):
        assert values.shape == shape
        assert values.dtype == jnp.float32


@pytest.mark.parametrize("name", list(ALL_SCHEMES))
def test_every_scheme_zero_sized_shape(name):
    scheme = ALL_SCHEMES[name]
    for shape in [(0, 5), (5, 0), (3, 3, 0, 8), (2, 0, 4)]:
        for dtype in (jnp.float32, jnp.bfloat16):
            eager = scheme(KEY, shape, dtype)
            assert eager.shape == shape
            assert eager.dtype == dtype
    # One traced call per scheme; each costs a (small) compilation.
    jitted = jax.jit(lambda key: scheme(key, (3, 3, 0, 8), jnp.bfloat16))(KEY)
    assert jitted.shape == (3, 3, 0, 8)
    assert jitted.dtype == jnp.bfloat16


# truncated_normal's stddev is that of the normal before truncation, and its
# bounds are in units of it, as in JAX and Flax.


@pytest.mark.parametrize("stddev", [0.02, 1e-3, 1e-10])
def test_truncated_normal_bounds_relative_to_stddev(stddev):
    values = as_float64(jaxinit.truncated_normal(stddev)(KEY, (10**6,)))
    scale = float(np.float32(stddev))
    assert np.abs(values).max() <= 2.0 * scale
    assert abs(values.std() / (0.8796 * stddev) - 1) <= 0.02
    assert_moments(values, truncnorm_moments(-2.0, 2.0, scale))


TRUNCATED_FAMILIES = [
    name for name in FAN_BUILDERS if FAN_BUILDERS[name]().distribution == "truncated_normal"
]


@pytest.mark.parametrize("name", TRUNCATED_FAMILIES)
def test_every_truncated_family_within_two_stddev_before(name):
    scheme = FAN_BUILDERS[name]()
    shape = (400, 500)
    values = as_float64(scheme(KEY, shape))
    fan_in, fan_out = jaxinit.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[scheme.mode]
    stddev_before = math.sqrt(scheme.scale / n) / TRUNCATED_STDDEV
    assert np.abs(values).max() <= 2.0 * stddev_before * (1 + 1e-6)
    assert_moments(values, truncnorm_moments(-2.0, 2.0, stddev_before))


# 16-bit floats are sampled in float32 and rounded once, so the moments hold,
# the tails are not clipped and the values are not confined to a coarse grid.

BF16_STEP_AT_TWO = 2.0**-6  # spacing of bfloat16 values in [1, 2)


def test_truncated_normal_bfloat16_keeps_distribution():
    values = jaxinit.truncated_normal(1.0)(KEY, (10**6,), jnp.bfloat16)
    x = as_float64(values)
    moments = truncnorm_moments(-2.0, 2.0, 1.0)
    sigma = math.sqrt(moments.variance)

    assert values.dtype == jnp.bfloat16
    assert abs(x.mean()) <= 0.005 * sigma
    assert abs(x.std() / sigma - 1) <= 0.02
    assert x.max() <= 2.0
    assert x.min() >= -2.0
    # The extremes sit one rounding step or less from the bounds, symmetrically.
    assert x.max() >= 2.0 - BF16_STEP_AT_TWO
    assert x.min() <= -2.0 + BF16_STEP_AT_TWO
    assert abs(x.max() + x.min()) <= BF16_STEP_AT_TWO
    # Sampling in bfloat16 directly leaves 128 values and 0.8% of draws on
    # each end value; rounding a float32 draw spreads them out.
    assert np.unique(x).size > 1000
    assert np.mean(x == x.max()) < 0.001
    assert np.mean(x == x.min()) < 0.001


def test_lecun_normal_bfloat16_keeps_distribution():
    values = jaxinit.lecun_normal()(KEY, (1000, 1000), jnp.bfloat16)
    x = as_float64(values)
    sigma = 1 / math.sqrt(1000)

    assert values.dtype == jnp.bfloat16
    assert abs(x.mean()) <= 0.005 * sigma
    assert abs(x.std() / sigma - 1) <= 0.02
    bound = 2 * sigma / TRUNCATED_STDDEV
    assert np.abs(x).max() <= bound * (1 + 2.0**-8)


def _low_precision_cases():
    """(scheme, exact moments) pairs covering every sampling path of basic and variance."""
    shape_fans = (400, 500)
    cases = {
        "normal": (jaxinit.normal(0.5, mean=0.25), normal_moments(0.25, 0.5)),
        "uniform": (jaxinit.uniform(0.5), uniform_moments(0.0, 0.5)),
        "uniform_range": (jaxinit.uniform(minval=-0.3, maxval=0.1), uniform_moments(-0.3, 0.1)),
        "truncated_normal": (
            jaxinit.truncated_normal(0.5, lower=-1.0, upper=3.0, mean=0.1),
            truncnorm_moments(-1.0, 3.0, 0.5, 0.1),
        ),
        "truncated_normal_tail": (
            jaxinit.truncated_normal(1.0, lower=3.0, upper=6.0),
            truncnorm_moments(3.0, 6.0, 1.0),
        ),
    }
    variance_value = 2.0 / 400
    sigma = math.sqrt(variance_value)
    limit = math.sqrt(3 * variance_value)
    cases["he_normal"] = (
        jaxinit.he_normal(),
        truncnorm_moments(-2.0, 2.0, sigma / TRUNCATED_STDDEV),
    )
    cases["he_uniform"] = (jaxinit.he_uniform(), uniform_moments(-limit, limit))
    cases["fan_in_normal_2"] = (jaxinit.fan_in_normal(2.0), normal_moments(0.0, sigma))
    return shape_fans, cases


LOW_PRECISION_SHAPE, LOW_PRECISION_CASES = _low_precision_cases()


@pytest.mark.parametrize("dtype", [jnp.bfloat16, pytest.param(jnp.float16, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(LOW_PRECISION_CASES))
def test_every_random_scheme_16_bit_keeps_moments(name, dtype):
    scheme, moments = LOW_PRECISION_CASES[name]
    values = scheme(KEY, LOW_PRECISION_SHAPE, dtype)
    assert values.dtype == dtype
    # Rounding to 8 (bfloat16) or 11 (float16) significant bits moves each
    # value by at most 2**-8 of itself. That shifts the variance by far less
    # than the standard error of these 200000-value samples.
    assert_moments(values, moments)


# Complex variance scaling: E|w|^2 = scale / n, split evenly between the parts.


@pytest.mark.parametrize("distribution", variance.DISTRIBUTIONS)
def test_complex_variance_scaling_total_variance(distribution):
    shape = (1000, 1000)
    values = jaxinit.variance_scaling(1.0, "fan_in", distribution)(KEY, shape, jnp.complex64)
    w = np.asarray(values).ravel().astype(np.complex128)

    assert abs(np.mean(np.abs(w) ** 2) * 1000 - 1) <= 0.01
    assert abs(np.mean(w.real**2) * 1000 - 0.5) <= 0.01
    assert abs(np.mean(w.imag**2) * 1000 - 0.5) <= 0.01
    assert abs(w.mean()) <= 6 * math.sqrt(1 / 1000 / w.size)


def test_complex_truncated_normal_correction_factor():
    # |z|^2 of a unit complex normal is Exp(1); truncated at modulus 2 its
    # mean is (1 - 5 e^-4) / (1 - e^-4).
    expected = math.sqrt((1 - 5 * math.exp(-4)) / (1 - math.exp(-4)))
    assert variance.COMPLEX_TRUNCATED_NORMAL_STDDEV == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(0.96196, abs=1e-5)


def test_complex_normal_total_variance():
    values = jaxinit.normal(0.2)(KEY, (10**6,), jnp.complex64)
    w = np.asarray(values).astype(np.complex128)
    squared = Moments(0.04, 0.04**2, 9 * 0.04**4)
    assert_mean(np.abs(w) ** 2, squared)


# Orthogonal schemes in 16-bit floats: computed in float32, rounded once.


def test_orthogonal_bfloat16():
    values = jaxinit.orthogonal()(KEY, (64, 64), jnp.bfloat16)
    w = np.asarray(values, dtype=np.float64)
    assert values.dtype == jnp.bfloat16
    assert np.abs(w.T @ w - np.eye(64)).max() <= 0.03


def test_delta_orthogonal_float16():
    values = jaxinit.delta_orthogonal()(KEY, (3, 3, 32, 32), jnp.float16)
    w = np.asarray(values, dtype=np.float64)
    centre = w[1, 1]
    assert values.dtype == jnp.float16
    assert np.abs(centre.T @ centre - np.eye(32)).max() <= 0.005
    mask = np.ones((3, 3), dtype=bool)
    mask[1, 1] = False
    assert not np.any(w[mask])


def test_orthogonal_float16_and_delta_orthogonal_bfloat16():
    square = np.asarray(jaxinit.orthogonal()(KEY, (32, 32), jnp.float16), dtype=np.float64)
    assert np.abs(square.T @ square - np.eye(32)).max() <= 0.005
    kernel = jaxinit.delta_orthogonal()(KEY, (3, 16, 16), jnp.bfloat16)
    centre = np.asarray(kernel, dtype=np.float64)[1]
    assert np.abs(centre.T @ centre - np.eye(16)).max() <= 0.03


# Sharded initialization generates each shard on its own device.


# Each case compiles one sharded program; test_sharding repeats the glorot
# cases, so here they run in the slow step except on 8 devices.
SHARDED_CASES = [("lecun_normal", n) for n in (1, 2, 4, 8)] + [
    pytest.param("glorot_uniform", n, marks=() if n == 8 else pytest.mark.slow)
    for n in (1, 2, 4, 8)
]


@pytest.mark.parametrize("name, n", SHARDED_CASES)
def test_sharded_init_equals_unsharded(name, n):
    scheme = getattr(jaxinit, name)()
    mesh = jax.make_mesh((n,), ("x",), axis_types=(AxisType.Auto,), devices=jax.devices()[:n])
    sharding = NamedSharding(mesh, P("x", None))
    shape = (496, 64)
    init = jax.jit(scheme, static_argnums=(1, 2), out_shardings=sharding)
    values = init(KEY, shape, jnp.float32)
    assert bool(jnp.array_equal(values, scheme(KEY, shape, jnp.float32)))
    assert {shard.data.shape for shard in values.addressable_shards} == {(496 // n, 64)}


@pytest.mark.parametrize("name", ["lecun_normal", "glorot_uniform"])
def test_sharded_init_output_is_one_eighth_per_device(name):
    scheme = getattr(jaxinit, name)()
    mesh = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,))
    init = jax.jit(scheme, static_argnums=(1, 2), out_shardings=NamedSharding(mesh, P("x", None)))
    memory = init.lower(KEY, (4096, 4096), jnp.float32).compile().memory_analysis()
    full_bytes = 4096 * 4096 * 4
    assert memory.output_size_in_bytes == full_bytes // 8
    assert memory.output_size_in_bytes + memory.temp_size_in_bytes < full_bytes


def test_orthogonal_documents_it_is_not_partitionable():
    assert "not partitionable" in jaxinit.orthogonal.__doc__
    assert "not partitionable" in jaxinit.delta_orthogonal.__doc__


# Schemes are values: picklable, equal by fields, hashable, readable, and one
# jit trace for equal schemes passed as static arguments.


@pytest.mark.parametrize("name", list(ALL_SCHEMES))
def test_every_scheme_is_a_value(name):
    scheme = ALL_SCHEMES[name]
    restored = pickle.loads(pickle.dumps(scheme))
    assert restored == scheme
    assert hash(restored) == hash(scheme)
    namespace = {type(scheme).__name__: type(scheme), "dtype": np.dtype}
    assert eval(repr(scheme), namespace) == scheme  # noqa: S307


def test_fresh_equal_schemes_are_equal_and_pickle():
    first, second = jaxinit.lecun_normal(), jaxinit.lecun_normal()
    assert first == second
    assert first is not second
    assert hash(first) == hash(second)
    assert pickle.loads(pickle.dumps(first)) == second
    assert repr(first).startswith("VarianceScaling(scale=1.0, mode='fan_in'")


def test_fresh_equal_schemes_trace_once():
    traces = []

    def initialize(key, scheme):
        traces.append(scheme)
        return scheme(key, (8, 4))

    jitted = jax.jit(initialize, static_argnums=1)
    results = [jitted(KEY, jaxinit.lecun_normal()) for _ in range(3)]
    assert len(traces) == 1
    assert all(bool(jnp.array_equal(result, results[0])) for result in results)


def test_flax_dense_with_scheme_pickles():
    model = nn.Dense(4, kernel_init=jaxinit.lecun_normal())
    assert pickle.loads(pickle.dumps(model)).kernel_init == jaxinit.lecun_normal()


# PyTorch's default Linear and Conv weight, and its bias from the weight's fan-in.


@pytest.mark.parametrize("shape, bound", [((400, 300), 0.05), ((3, 3, 16, 32), 1 / 12)])
def test_torch_linear_default_bounds_and_variance(shape, bound):
    fan_in = jaxinit.compute_fans(shape)[0]
    assert bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)

    values = as_float64(registry.get("torch:linear")(KEY, shape))

    assert values.min() >= -bound
    assert values.max() < bound
    assert values.max() > 0.99 * bound
    assert_moments(values, uniform_moments(-bound, bound))
    assert uniform_moments(-bound, bound).variance == pytest.approx(1 / (3 * fan_in))


def test_torch_leaky_relu_gain_of_default_linear():
    assert jaxinit.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(
        math.sqrt(1 / 3), rel=1e-15
    )


def test_torch_bias_uses_weight_fan_in():
    variables = nn.Dense(4000).init(KEY, jnp.ones((1, 400)))
    params = jaxinit.bias_from_fan_in(
        variables["params"], jax.random.key(1), scale=1 / 3, distribution="uniform"
    )
    bias = as_float64(params["bias"])
    bound = 1 / math.sqrt(400)

    assert bias.shape == (4000,)
    assert bias.min() >= -bound
    assert bias.max() < bound
    assert_moments(bias, uniform_moments(-bound, bound))


def test_torch_conv_bias_uses_weight_fan_in():
    conv = nn.Conv(2000, (3, 3))
    variables = jax.eval_shape(conv.init, KEY, jnp.ones((1, 4, 4, 16)))
    params = {
        "kernel": jnp.zeros(variables["params"]["kernel"].shape),
        "bias": jnp.zeros(variables["params"]["bias"].shape),
    }
    bias = as_float64(
        jaxinit.bias_from_fan_in(params, KEY, scale=1 / 3, distribution="uniform")["bias"]
    )
    assert bias.max() < 1 / 12
    assert bias.min() >= -1 / 12
    assert bias.max() > 0.9 / 12


# calculate_gain: established values and readable errors for bad names.


@pytest.mark.parametrize(
    "nonlinearity, param, expected",
    [
        ("linear", None, 1.0),
        ("conv1d", None, 1.0),
        ("conv2d", None, 1.0),
        ("conv3d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / (1 + 0.2**2))),
        ("leaky_relu", 0, math.sqrt(2)),
        ("selu", None, 3 / 4),
    ],
)
def test_gain_values(nonlinearity, param, expected):
    assert jaxinit.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("name", ["Relu", True, "0.2"])
def test_gain_bad_name_lists_accepted_names(name):
    pattern = re.escape(f"calculate_gain: unknown nonlinearity {name!r}; accepted names are ")
    with pytest.raises(ValueError, match=pattern + ".*leaky_relu, selu"):
        jaxinit.calculate_gain(name)


def test_gain_string_slope_rejected():
    with pytest.raises(ValueError, match=re.escape("got '0.2'.")):
        jaxinit.calculate_gain("leaky_relu", "0.2")


# Every argument of every builder is checked when the scheme is built, so a
# typo fails at the line that made it rather than deep inside model.init.


def test_variance_scaling_unknown_mode_fails_when_built():
    message = (
        "variance_scaling: mode must be one of 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg', "
        "got 'fan_inn'."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.variance_scaling(1.0, "fan_inn", "normal")


def test_variance_scaling_unknown_distribution_fails_when_built():
    message = (
        "variance_scaling: distribution must be one of 'normal', 'truncated_normal', "
        "'uniform', got 'gaussian'."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.variance_scaling(1.0, "fan_in", "gaussian")


# Bad values per argument name: (value, exception). Every builder that has an
# argument of that name must reject each value when it is built.
BAD_ARGUMENTS = {
    "scale": [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
        (jnp.float32, TypeError),
    ],
    "stddev": [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError), (None, TypeError)],
    "mean": [(float("nan"), ValueError), (float("inf"), ValueError), ("0", TypeError)],
    "lower": [(float("nan"), ValueError), ("a", TypeError), (3.0, ValueError)],
    "upper": [(float("nan"), ValueError), ("a", TypeError), (-3.0, ValueError)],
    "minval": [(float("nan"), ValueError), ("a", TypeError), (5.0, ValueError)],
    "maxval": [(float("nan"), ValueError), ("a", TypeError), (-5.0, ValueError)],
    "value": [(float("nan"), ValueError), ("a", TypeError), ([1.0], TypeError)],
    "mode": [("fan_inn", ValueError), (None, ValueError)],
    "distribution": [("gaussian", ValueError), (None, ValueError)],
    "in_axis": [(jnp.bfloat16, TypeError), ("0", TypeError), (1.5, TypeError), (None, TypeError)],
    "out_axis": [(jnp.bfloat16, TypeError), ("0", TypeError), ((0, 1.5), TypeError)],
    "batch_axis": [(jnp.bfloat16, TypeError), (None, TypeError), ("0", TypeError)],
    "dtype": [("not-a-dtype", TypeError), (object, TypeError)],
}
# Valid values for the arguments without defaults and for range pairs.
VALID_ARGUMENTS = {
    "variance_scaling": {"scale": 1.0, "mode": "fan_in", "distribution": "normal"},
    "constant": {"value": 1.0},
    "uniform": {"minval": 0.0, "maxval": 1.0},
}
RANDOM_BUILDERS = {"normal", "uniform", "truncated_normal", *VARIANCE_BUILDERS}


def _bad_argument_cases():
    cases = []
    builders = {**BASIC_BUILDERS, **VARIANCE_BUILDERS}
    for name, builder in builders.items():
        for argument in inspect.signature(builder).parameters:
            bad_values = list(BAD_ARGUMENTS[argument])
            if argument == "dtype" and name in RANDOM_BUILDERS:
                bad_values += [(jnp.int32, TypeError), (jnp.bool_, TypeError)]
            if name == "uniform" and argument == "scale":
                # The scale form needs scale > 0; the range form is tested
                # through minval and maxval.
                bad_values = [(0.0, ValueError), (-1.0, ValueError), ("1", TypeError)]
            for value, error in bad_values:
                cases.append(
                    pytest.param(name, argument, value, error, id=f"{name}-{argument}-{value!r}")
                )
    return cases


@pytest.mark.parametrize("name, argument, value, error", _bad_argument_cases())
def test_every_builder_argument_checked_when_built(name, argument, value, error):
    builder = {**BASIC_BUILDERS, **VARIANCE_BUILDERS}[name]
    arguments = dict(VALID_ARGUMENTS.get(name, {}))
    if name == "uniform" and argument == "scale":
        arguments = {}
    arguments[argument] = value
    with pytest.raises(error, match=re.escape(f": {argument}") + "|" + re.escape(f"{argument}=")):
        builder(**arguments)


@pytest.mark.parametrize("distribution", variance.DISTRIBUTIONS)
def test_negative_scale_fails_when_built(distribution):
    message = "variance_scaling: scale must be non-negative, got -1.0."
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxinit.variance_scaling(-1.0, "fan_in", distribution)


@pytest.mark.parametrize("name", [n for n in FAN_BUILDERS if n.startswith("fan_")])
def test_negative_scale_fails_in_every_fan_family(name):
    message = "variance_scaling: scale must be non-negative, got -0.5."
    with pytest.raises(ValueError, match=re.escape(message)):
        FAN_BUILDERS[name](-0.5)


# Integer and boolean dtypes for a random scheme: a TypeError naming the
# dtype and what is accepted, from the scheme itself.


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_, jnp.uint8])
@pytest.mark.parametrize("name", list(RANDOM_SCHEMES))
def test_every_random_scheme_rejects_integer_dtype(name, dtype):
    scheme = RANDOM_SCHEMES[name]
    accepted = "floating or complex dtypes" if scheme.allow_complex else "floating dtypes"
    message = (
        f"{type(scheme).__name__} draws random values, so it accepts only {accepted} "
        f"(such as float32 or bfloat16), got {np.dtype(dtype)}."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        scheme(KEY, (4, 4), dtype)


# A dtype passed in the place of in_axis fails when built and names in_axis.


def test_dtype_in_place_of_in_axis():
    message = (
        "variance_scaling: in_axis must be an int or a sequence of ints, "
        "got <class 'jax.numpy.bfloat16'>."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        jaxinit.variance_scaling(1.0, "fan_in", "normal", jnp.bfloat16)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32, np.dtype("float16"), "float32"])
@pytest.mark.parametrize("name", list(FAN_BUILDERS))
def test_every_fan_builder_rejects_dtype_as_in_axis(name, dtype):
    builder = FAN_BUILDERS[name]
    positional = (1.0, dtype) if "scale" in inspect.signature(builder).parameters else (dtype,)
    message = f"variance_scaling: in_axis must be an int or a sequence of ints, got {dtype!r}."
    with pytest.raises(TypeError, match=re.escape(message)):
        builder(*positional)
