"""Tests for jaxinit.fans: compute_fans and calculate_gain, values and every error."""

import math
import re

import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit import calculate_gain, compute_fans

BIAS_HINT = (
    "a fan-based scheme needs at least two axes (inputs and outputs); "
    "for a bias or other 1-D parameter use zeros, constant or normal instead"
)

# shape, keyword arguments, (fan_in, fan_out)
FAN_TABLE = [
    ((400, 300), {}, (400, 300)),
    ((7, 5), {"in_axis": 1, "out_axis": 0}, (5, 7)),
    ((5, 3, 16), {}, (15, 80)),
    ((3, 16, 32), {}, (48, 96)),
    ((3, 3, 16, 32), {}, (144, 288)),
    ((2, 3, 4, 8, 16), {}, (192, 384)),
    ((8, 256, 128), {"batch_axis": 0}, (256, 128)),
    ((4, 3, 3, 16, 32), {"batch_axis": 0}, (144, 288)),
    ((4, 5, 16, 32), {"batch_axis": (0, 1)}, (16, 32)),
    ((4, 6, 8, 10), {"in_axis": (0, 1), "out_axis": (2, 3)}, (24, 80)),
    ((4, 6, 8, 10), {"in_axis": (-4, -3), "out_axis": -1}, (192, 80)),
    ((2, 6, 8, 10), {"in_axis": 1, "out_axis": (2, 3), "batch_axis": 0}, (6, 80)),
    ((16, 32), {"in_axis": -2, "out_axis": -1}, (16, 32)),
    ((3, 3, 0, 8), {}, (0, 72)),
    ((0, 5), {}, (0, 5)),
    ((6, 4), {"in_axis": (), "out_axis": -1}, (6, 24)),
]


@pytest.mark.parametrize("shape, kwargs, expected", FAN_TABLE)
def test_compute_fans_table(shape, kwargs, expected):
    fans = compute_fans(shape, **kwargs)
    assert fans == expected
    assert all(type(fan) is int for fan in fans)


def test_compute_fans_numpy_ints_and_lists():
    assert compute_fans([np.int64(3), np.int32(4)], in_axis=[0], out_axis=np.int64(1)) == (3, 4)


@pytest.mark.parametrize("shape", [(5,), (), (0,)])
def test_compute_fans_rank_below_two_hints_bias(shape):
    message = f"compute_fans: got shape {shape}, but {BIAS_HINT}."
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans(shape)


def test_compute_fans_scheme_name_in_message():
    message = f"my_scheme: got shape (5,), but {BIAS_HINT}."
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans((5,), scheme="my_scheme")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"in_axis": 2},
            "compute_fans: in_axis=2 is out of range for a shape with 2 axes; "
            "accepted axes are -2 to 1.",
        ),
        (
            {"out_axis": -3},
            "compute_fans: out_axis=-3 is out of range for a shape with 2 axes; "
            "accepted axes are -2 to 1.",
        ),
        (
            {"batch_axis": (0, 5)},
            "compute_fans: batch_axis=(0, 5) is out of range for a shape with 2 axes; "
            "accepted axes are -2 to 1.",
        ),
    ],
)
def test_compute_fans_axis_out_of_range(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans((4, 5), **kwargs)


def test_compute_fans_duplicate_axis():
    message = "compute_fans: in_axis=(0, -3) names the same axis twice."
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans((3, 4, 5), in_axis=(0, -3))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"in_axis": -1, "out_axis": -1},
            "compute_fans: in_axis and out_axis must name different axes, but both name axis 2.",
        ),
        (
            {"in_axis": (0, 1), "out_axis": 1},
            "compute_fans: in_axis and out_axis must name different axes, but both name axis 1.",
        ),
        (
            {"batch_axis": 1},
            "compute_fans: in_axis and batch_axis must name different axes, but both name axis 1.",
        ),
        (
            {"batch_axis": -1},
            "compute_fans: out_axis and batch_axis must name different axes, but both name axis 2.",
        ),
    ],
)
def test_compute_fans_overlapping_axes(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans((3, 4, 5), **kwargs)


@pytest.mark.parametrize(
    "argument, value, shown",
    [
        ("in_axis", jnp.bfloat16, "<class 'jax.numpy.bfloat16'>"),
        ("in_axis", np.dtype("float32"), "dtype('float32')"),
        ("out_axis", 1.0, "1.0"),
        ("out_axis", True, "True"),
        ("batch_axis", None, "None"),
        ("batch_axis", "0", "'0'"),
        ("in_axis", (0, 1.5), "(0, 1.5)"),
    ],
)
def test_compute_fans_axis_wrong_type(argument, value, shown):
    message = f"compute_fans: {argument} must be an int or a sequence of ints, got {shown}."
    with pytest.raises(TypeError, match=re.escape(message)):
        compute_fans((3, 4, 5), **{argument: value})


def test_compute_fans_shape_wrong_type():
    message = "compute_fans: shape must be a sequence of non-negative ints, got (3.0, 4)."
    with pytest.raises(TypeError, match=re.escape(message)):
        compute_fans((3.0, 4))


# calculate_gain.

GAIN_TABLE = [
    ("linear", None, 1.0),
    ("identity", None, 1.0),
    ("conv1d", None, 1.0),
    ("conv2d", None, 1.0),
    ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0),
    ("conv_transpose2d", None, 1.0),
    ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0),
    ("tanh", None, 5.0 / 3.0),
    ("relu", None, math.sqrt(2.0)),
    ("leaky_relu", None, math.sqrt(2.0 / (1.0 + 0.01**2))),
    ("leaky_relu", 0.2, math.sqrt(2.0 / (1.0 + 0.2**2))),
    ("leaky_relu", 0, math.sqrt(2.0)),
    ("leaky_relu", 0.0, math.sqrt(2.0)),
    ("leaky_relu", math.sqrt(5.0), math.sqrt(1.0 / 3.0)),
    ("leaky_relu", np.float32(0.2), math.sqrt(2.0 / (1.0 + float(np.float32(0.2)) ** 2))),
    ("selu", None, 0.75),
]


@pytest.mark.parametrize("nonlinearity, param, expected", GAIN_TABLE)
def test_calculate_gain_table(nonlinearity, param, expected):
    gain = calculate_gain(nonlinearity, param)
    assert type(gain) is float
    assert gain == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_leaky_relu_huge_slope_no_overflow():
    assert calculate_gain("leaky_relu", 1e200) == pytest.approx(math.sqrt(2.0) * 1e-200)
    assert calculate_gain("leaky_relu", np.float32(1e30)) == pytest.approx(math.sqrt(2.0) * 1e-30)


ACCEPTED_NAMES = (
    "linear, identity, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, "
    "conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu"
)


@pytest.mark.parametrize("name", ["Relu", "RELU", "gelu", "0.2", True, None, 1, "leaky relu"])
def test_calculate_gain_unknown_name(name):
    message = f"calculate_gain: unknown nonlinearity {name!r}; accepted names are {ACCEPTED_NAMES}."
    with pytest.raises(ValueError, match=re.escape(message)):
        calculate_gain(name)


@pytest.mark.parametrize("name", ["relu", "linear", "tanh", "selu"])
def test_calculate_gain_param_for_other_nonlinearity(name):
    message = f"calculate_gain: param is only used by 'leaky_relu', got param=0.2 for {name!r}."
    with pytest.raises(ValueError, match=re.escape(message)):
        calculate_gain(name, 0.2)


@pytest.mark.parametrize(
    "param", ["0.2", True, float("nan"), float("inf"), -float("inf"), 1 + 2j, 10**400]
)
def test_calculate_gain_bad_slope(param):
    message = (
        "calculate_gain: param for 'leaky_relu' must be a finite real negative slope, "
        f"got {param!r}."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        calculate_gain("leaky_relu", param)


def test_compute_fans_embedding_overlap_hint():
    message = (
        "compute_fans: in_axis and out_axis must name different axes, but both name axis 0. "
        "For an embedding table (num_embeddings, features) with out_axis=0, pass in_axis=-1."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        compute_fans((100, 16), out_axis=0)

    assert compute_fans((100, 16), in_axis=-1, out_axis=0) == (16, 100)
