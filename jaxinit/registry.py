"""Schemes by name or config: ``get``, ``to_config`` and ``list_schemes``.

A registry name such as ``"lecun_normal"`` maps to a builder function, and a
config ``{"name": "normal", "stddev": 0.1}`` calls that builder with the other
fields as keyword arguments. ``to_config`` goes the other way, so
``get(to_config(scheme)) == scheme`` for every scheme listed here.

Names with a ``keras:`` or ``torch:`` prefix keep the meaning that the name
has in Keras 3 or PyTorch 2 (``keras:uniform`` is U(-0.05, 0.05), not
JAX's U[0, 0.01)). Each alias builds a core scheme, so ``to_config`` of its
result is the core config. PyTorch stores weights as ``(out, in, *spatial)``
and jaxinit follows Flax's ``(*spatial, in, out)``. The fans of one layer are
the same in both layouts, so each ``torch:`` alias gives the distribution that
PyTorch gives the same layer, except where its description notes a difference.

A config is plain data: strings, ints, floats, booleans, ``None`` and lists
of ints, a dtype as its name (``"bfloat16"``), and a nested scheme under
``"init"`` as a name or a config. Nothing in it is evaluated or unpickled,
and its size and nesting depth are bounded, so configs from files or the
command line are safe to read.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxinit.basic import (
    Constant,
    Normal,
    Ones,
    TruncatedNormal,
    Uniform,
    Zeros,
    constant,
    normal,
    ones,
    truncated_normal,
    uniform,
    zeros,
)
from jaxinit.combinators import PerSlice, Scaled, per_slice, scaled
from jaxinit.core import Initializer, check_choice, check_nonnegative, check_positive, check_real
from jaxinit.fans import calculate_gain
from jaxinit.structured import (
    DeltaOrthogonal,
    Dirac,
    Identity,
    Orthogonal,
    Siren,
    SmallInit,
    Sparse,
    ZerO,
    delta_orthogonal,
    dirac,
    identity,
    orthogonal,
    siren,
    small_init,
    sparse,
    zero_init,
)
from jaxinit.variance import (
    VarianceScaling,
    fan_avg_normal,
    fan_avg_truncated_normal,
    fan_avg_uniform,
    fan_in_normal,
    fan_in_truncated_normal,
    fan_in_uniform,
    fan_out_normal,
    fan_out_truncated_normal,
    fan_out_uniform,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)

# Bounds on a config, so that a file or command-line argument cannot make
# get() recurse deeply or hold large objects.
MAX_FIELDS = 64
MAX_DEPTH = 4
MAX_STRING_LENGTH = 128
MAX_LIST_LENGTH = 1024
MAX_JSON_LENGTH = 65536

# The config field that contains the inner scheme of a combinator.
_NESTED_FIELD = "init"


# Aliases with Keras 3's meanings (keras.initializers, Keras 3.x).


def _keras_uniform(minval: float = -0.05, maxval: float = 0.05, dtype: Any = None) -> Uniform:
    """Keras ``RandomUniform``: U[minval, maxval), default U[-0.05, 0.05)."""
    return uniform(dtype=dtype, minval=minval, maxval=maxval)


def _keras_normal(mean: float = 0.0, stddev: float = 0.05, dtype: Any = None) -> Normal:
    """Keras ``RandomNormal``: N(mean, stddev**2), default N(0, 0.05**2)."""
    return normal(stddev, dtype, mean=mean)


def _keras_truncated_normal(
    mean: float = 0.0, stddev: float = 0.05, dtype: Any = None
) -> TruncatedNormal:
    """Keras ``TruncatedNormal``: N(mean, stddev**2) redrawn beyond 2 stddevs from the mean."""
    return truncated_normal(stddev, dtype, -2.0, 2.0, mean=mean)


def _keras_orthogonal(gain: float = 1.0, dtype: Any = None) -> Orthogonal:
    """Keras ``Orthogonal``: ``gain`` times an orthogonal matrix of the flattened kernel.

    Keras flattens the kernel to ``(prod(shape[:-1]), shape[-1])``, as ``orthogonal`` does.
    """
    return orthogonal(gain, -1, dtype)


def _keras_identity(gain: float = 1.0, dtype: Any = None) -> Identity:
    """Keras ``Identity``: ``gain`` times the identity matrix."""
    return identity(gain, dtype)


# Aliases with PyTorch's meanings (torch.nn.init, PyTorch 2.x).

_TORCH_MODES = ("fan_in", "fan_out")

# The squared gains of calculate_gain, written exactly so that the default
# torch:kaiming_uniform has scale 2.0 rather than sqrt(2)**2 = 2.0000000000000004.
_SQUARED_GAINS = {"relu": 2.0, "tanh": 25.0 / 9.0, "selu": 9.0 / 16.0}


def _torch_squared_gain(scheme: str, nonlinearity: str, a: float) -> float:
    """Return ``calculate_gain(nonlinearity, a) ** 2`` as PyTorch's kaiming functions use it."""
    a = check_real(scheme, "a", a)
    if nonlinearity == "leaky_relu":
        calculate_gain(nonlinearity, a)
        return 2.0 / (1.0 + a * a)
    if a != 0.0:
        raise ValueError(
            f"{scheme}: a is the negative slope of leaky_relu, so it must be 0 with "
            f"nonlinearity={nonlinearity!r}, got a={a}."
        )
    calculate_gain(nonlinearity)
    return _SQUARED_GAINS.get(nonlinearity, 1.0)


def _torch_kaiming_uniform(
    a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", dtype: Any = None
) -> VarianceScaling:
    """PyTorch ``kaiming_uniform_``: U(-b, b) with ``b = gain * sqrt(3 / fan)``."""
    name = "torch:kaiming_uniform"
    mode = check_choice(name, "mode", mode, _TORCH_MODES)
    scale = _torch_squared_gain(name, nonlinearity, a)
    return variance_scaling(scale, mode, "uniform", dtype=dtype)


def _torch_kaiming_normal(
    a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", dtype: Any = None
) -> VarianceScaling:
    """PyTorch ``kaiming_normal_``: N(0, gain**2 / fan), not truncated."""
    name = "torch:kaiming_normal"
    mode = check_choice(name, "mode", mode, _TORCH_MODES)
    scale = _torch_squared_gain(name, nonlinearity, a)
    return variance_scaling(scale, mode, "normal", dtype=dtype)


def _torch_xavier_uniform(gain: float = 1.0, dtype: Any = None) -> VarianceScaling:
    """PyTorch ``xavier_uniform_``: U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))``."""
    gain = check_nonnegative("torch:xavier_uniform", "gain", gain)
    return variance_scaling(gain * gain, "fan_avg", "uniform", dtype=dtype)


def _torch_xavier_normal(gain: float = 1.0, dtype: Any = None) -> VarianceScaling:
    """PyTorch ``xavier_normal_``: N(0, 2 gain**2 / (fan_in + fan_out)), not truncated."""
    gain = check_nonnegative("torch:xavier_normal", "gain", gain)
    return variance_scaling(gain * gain, "fan_avg", "normal", dtype=dtype)


def _torch_linear(dtype: Any = None) -> VarianceScaling:
    """PyTorch's default ``nn.Linear`` and ``nn.ConvNd`` weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    PyTorch draws it as ``kaiming_uniform_(weight, a=sqrt(5))``, whose squared
    gain is ``2 / (1 + 5) = 1/3``; the bound is ``sqrt(3 * (1/3) / fan_in)``.
    """
    return variance_scaling(1.0 / 3.0, "fan_in", "uniform", dtype=dtype)


def _torch_normal(mean: float = 0.0, std: float = 1.0, dtype: Any = None) -> Normal:
    """PyTorch ``normal_``: N(mean, std**2), default N(0, 1)."""
    return normal(std, dtype, mean=mean)


def _torch_uniform(a: float = 0.0, b: float = 1.0, dtype: Any = None) -> Uniform:
    """PyTorch ``uniform_``: U[a, b), default U[0, 1)."""
    return uniform(dtype=dtype, minval=a, maxval=b)


def _torch_trunc_normal(
    mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, dtype: Any = None
) -> TruncatedNormal:
    """PyTorch ``trunc_normal_``: N(mean, std**2) cut at the absolute bounds [a, b].

    jaxinit's ``truncated_normal`` takes its bounds in standard deviations
    from the mean, so they become ``(a - mean) / std`` and ``(b - mean) / std``.
    """
    name = "torch:trunc_normal"
    mean = check_real(name, "mean", mean)
    std = check_positive(name, "std", std)
    a = check_real(name, "a", a)
    b = check_real(name, "b", b)
    if not a < b:
        raise ValueError(f"{name}: a must be smaller than b, got a={a} and b={b}.")
    return truncated_normal(std, dtype, (a - mean) / std, (b - mean) / std, mean=mean)


def _torch_orthogonal(gain: float = 1.0, dtype: Any = None) -> Orthogonal:
    """PyTorch ``orthogonal_``: ``gain`` times a random (semi-)orthogonal matrix."""
    return orthogonal(gain, -1, dtype)


def _torch_sparse(sparsity: float, std: float = 0.01, dtype: Any = None) -> Sparse:
    """PyTorch ``sparse_``: a fixed fraction of zeros, other entries N(0, std**2)."""
    # TODO: PyTorch's sparse_ zeroes ceil(sparsity * out) weights of each input,
    # but jaxinit's sparse zeroes ceil(sparsity * in) weights of each output. The
    # alias keeps jaxinit's rule until sparse takes an axis argument.
    return sparse(sparsity, std, dtype)


def _torch_dirac(groups: int = 1, dtype: Any = None) -> Dirac:
    """PyTorch ``dirac_``: a convolution kernel that passes its input through."""
    return dirac(groups, dtype)


def _torch_eye(dtype: Any = None) -> Identity:
    """PyTorch ``eye_``: the identity matrix."""
    return identity(1.0, dtype)


def _zeros() -> Zeros:
    return zeros


def _ones() -> Ones:
    return ones


@dataclasses.dataclass(frozen=True)
class _Entry:
    builder: Callable[..., Initializer]
    description: str


_REGISTRY: dict[str, _Entry] = {
    "zeros": _Entry(_zeros, "all zeros; deterministic"),
    "ones": _Entry(_ones, "all ones; deterministic"),
    "constant": _Entry(constant, "every entry equal to value; deterministic"),
    "normal": _Entry(normal, "N(mean, stddev^2), default N(0, 0.01^2)"),
    "uniform": _Entry(uniform, "U[0, scale) or U[minval, maxval), default U[0, 0.01)"),
    "truncated_normal": _Entry(
        truncated_normal, "normal cut at [lower, upper] stddevs from the mean, default +-2"
    ),
    "variance_scaling": _Entry(
        variance_scaling, "variance scale / n, n the fan_in, fan_out, fan_avg or fan_geo_avg"
    ),
    "fan_in_normal": _Entry(fan_in_normal, "N(0, scale / fan_in)"),
    "fan_in_uniform": _Entry(fan_in_uniform, "U(-a, a), a = sqrt(3 scale / fan_in)"),
    "fan_in_truncated_normal": _Entry(
        fan_in_truncated_normal, "truncated normal with variance scale / fan_in"
    ),
    "fan_out_normal": _Entry(fan_out_normal, "N(0, scale / fan_out)"),
    "fan_out_uniform": _Entry(fan_out_uniform, "U(-a, a), a = sqrt(3 scale / fan_out)"),
    "fan_out_truncated_normal": _Entry(
        fan_out_truncated_normal, "truncated normal with variance scale / fan_out"
    ),
    "fan_avg_normal": _Entry(fan_avg_normal, "N(0, 2 scale / (fan_in + fan_out))"),
    "fan_avg_uniform": _Entry(fan_avg_uniform, "U(-a, a), a = sqrt(6 scale / (fan_in + fan_out))"),
    "fan_avg_truncated_normal": _Entry(
        fan_avg_truncated_normal, "truncated normal with variance 2 scale / (fan_in + fan_out)"
    ),
    "lecun_normal": _Entry(lecun_normal, "truncated normal with variance 1 / fan_in"),
    "lecun_uniform": _Entry(lecun_uniform, "U(-a, a), a = sqrt(3 / fan_in)"),
    "glorot_normal": _Entry(glorot_normal, "truncated normal with variance 2 / (fan_in + fan_out)"),
    "glorot_uniform": _Entry(glorot_uniform, "U(-a, a), a = sqrt(6 / (fan_in + fan_out))"),
    "xavier_normal": _Entry(glorot_normal, "the same scheme as glorot_normal"),
    "xavier_uniform": _Entry(glorot_uniform, "the same scheme as glorot_uniform"),
    "he_normal": _Entry(he_normal, "truncated normal with variance 2 / fan_in"),
    "he_uniform": _Entry(he_uniform, "U(-a, a), a = sqrt(6 / fan_in)"),
    "kaiming_normal": _Entry(he_normal, "the same scheme as he_normal"),
    "kaiming_uniform": _Entry(he_uniform, "the same scheme as he_uniform"),
    "orthogonal": _Entry(orthogonal, "scale times a random (semi-)orthogonal matrix"),
    "delta_orthogonal": _Entry(
        delta_orthogonal, "orthogonal matrix at the centre tap of a convolution kernel"
    ),
    "identity": _Entry(identity, "gain times the identity matrix; deterministic"),
    "dirac": _Entry(dirac, "convolution kernel that passes its input through; deterministic"),
    "sparse": _Entry(sparse, "ceil(sparsity * in) zeros per column, the rest N(0, stddev^2)"),
    "siren": _Entry(
        siren, "SIREN: U(-a, a), a = sqrt(c / fan_in) / w0, or 1 / fan_in for the first layer"
    ),
    "small_init": _Entry(small_init, "SmallInit: N(0, 2 / (5 fan_in))"),
    "zero_init": _Entry(zero_init, "ZerO: identity or a scaled Hadamard block; deterministic"),
    "scaled": _Entry(scaled, "the values of init times factor"),
    "per_slice": _Entry(
        per_slice, "each slice of a fused kernel (QKV, LSTM gates) drawn with its own fans"
    ),
    "keras:uniform": _Entry(_keras_uniform, "Keras RandomUniform: U[-0.05, 0.05)"),
    "keras:normal": _Entry(_keras_normal, "Keras RandomNormal: N(0, 0.05^2)"),
    "keras:truncated_normal": _Entry(
        _keras_truncated_normal, "Keras TruncatedNormal: N(0, 0.05^2) cut at 2 stddevs"
    ),
    "keras:zeros": _Entry(_zeros, "Keras Zeros: all zeros"),
    "keras:ones": _Entry(_ones, "Keras Ones: all ones"),
    "keras:glorot_uniform": _Entry(glorot_uniform, "Keras GlorotUniform: as glorot_uniform"),
    "keras:glorot_normal": _Entry(glorot_normal, "Keras GlorotNormal: as glorot_normal"),
    "keras:he_normal": _Entry(he_normal, "Keras HeNormal: as he_normal"),
    "keras:he_uniform": _Entry(he_uniform, "Keras HeUniform: as he_uniform"),
    "keras:lecun_normal": _Entry(lecun_normal, "Keras LecunNormal: as lecun_normal"),
    "keras:lecun_uniform": _Entry(lecun_uniform, "Keras LecunUniform: as lecun_uniform"),
    "keras:orthogonal": _Entry(
        _keras_orthogonal, "Keras Orthogonal(gain): as orthogonal(scale=gain)"
    ),
    "keras:identity": _Entry(_keras_identity, "Keras Identity(gain): gain times the identity"),
    "torch:kaiming_uniform": _Entry(
        _torch_kaiming_uniform, "PyTorch kaiming_uniform_: U(-b, b), b = gain sqrt(3 / fan)"
    ),
    "torch:kaiming_normal": _Entry(
        _torch_kaiming_normal, "PyTorch kaiming_normal_: N(0, gain^2 / fan), not truncated"
    ),
    "torch:xavier_uniform": _Entry(
        _torch_xavier_uniform,
        "PyTorch xavier_uniform_: U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))",
    ),
    "torch:xavier_normal": _Entry(
        _torch_xavier_normal,
        "PyTorch xavier_normal_: N(0, 2 gain^2 / (fan_in + fan_out)), not truncated",
    ),
    "torch:linear": _Entry(
        _torch_linear,
        "PyTorch's default Linear/ConvNd weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
    ),
    "torch:normal": _Entry(_torch_normal, "PyTorch normal_: N(mean, std^2), default N(0, 1)"),
    "torch:uniform": _Entry(_torch_uniform, "PyTorch uniform_: U[a, b), default U[0, 1)"),
    "torch:trunc_normal": _Entry(
        _torch_trunc_normal,
        "PyTorch trunc_normal_: N(mean, std^2) cut at absolute bounds [a, b], default [-2, 2]",
    ),
    "torch:orthogonal": _Entry(
        _torch_orthogonal, "PyTorch orthogonal_(gain): as orthogonal(scale=gain)"
    ),
    "torch:sparse": _Entry(
        _torch_sparse, "PyTorch sparse_ with jaxinit's rule: ceil(sparsity * in) zeros per output"
    ),
    "torch:dirac": _Entry(
        _torch_dirac, "PyTorch dirac_, centre tap (k - 1) // 2 where PyTorch uses k // 2"
    ),
    "torch:eye": _Entry(_torch_eye, "PyTorch eye_: the identity matrix"),
    "torch:zeros": _Entry(_zeros, "PyTorch zeros_: all zeros"),
    "torch:ones": _Entry(_ones, "PyTorch ones_: all ones"),
}

# The builder that to_config names for each scheme class; calling it with the
# class's fields as keyword arguments rebuilds an equal scheme.
_CONFIG_NAMES: dict[type, str] = {
    Zeros: "zeros",
    Ones: "ones",
    Constant: "constant",
    Normal: "normal",
    Uniform: "uniform",
    TruncatedNormal: "truncated_normal",
    VarianceScaling: "variance_scaling",
    Orthogonal: "orthogonal",
    DeltaOrthogonal: "delta_orthogonal",
    Identity: "identity",
    Dirac: "dirac",
    Sparse: "sparse",
    Siren: "siren",
    SmallInit: "small_init",
    ZerO: "zero_init",
    Scaled: "scaled",
    PerSlice: "per_slice",
}


def list_schemes() -> list[tuple[str, str]]:
    """List every registry name with a one-line description, sorted by name.

    Returns:
      A list of ``(name, description)`` pairs; ``jaxinit list`` prints it.

    Example:
      >>> dict(list_schemes())["keras:uniform"]
      'Keras RandomUniform: U[-0.05, 0.05)'
    """
    return sorted((name, entry.description) for name, entry in _REGISTRY.items())


def get(name_or_config: str | Mapping[str, Any] | Initializer) -> Initializer:
    """Build a scheme from a registry name, a config or a JSON config string.

    - A registry name (``"lecun_normal"``, ``"keras:uniform"``) calls its
      builder with no arguments.
    - A config ``{"name": name, **fields}`` calls the builder of ``name``
      with ``fields`` as keyword arguments. ``"dtype"`` is a dtype name such
      as ``"bfloat16"``, lists become tuples, and a combinator's ``"init"``
      is itself a registry name or a config.
    - A string that starts with ``{`` (after any whitespace) is parsed as a
      JSON config. One that starts with ``[`` or ``"`` is rejected, because
      its JSON value is not an object.
    - An ``Initializer`` is returned as it is.

    A config contains only strings of at most 128 characters, ints, floats,
    booleans, ``None`` and lists of at most 1024 ints. It has at most 64
    fields, its nested ``"init"`` configs go at most 4 levels deep, and JSON
    text is at most 65536 characters long. Nothing in a config is evaluated.

    Args:
      name_or_config: a registry name, a config mapping, a JSON object string
        or an ``Initializer``.

    Returns:
      The scheme, an ``Initializer``.

    Raises:
      TypeError: the argument is of another kind, or a config key, the name
        or a field value is of a kind that a config cannot contain. The
        builder's own ``TypeError`` passes through for a field of the wrong kind.
      ValueError: the name is unknown (the message lists close matches), a
        field is unknown or a required field is missing (the message lists
        the accepted fields), the JSON is invalid or not an object, a bound on
        size or depth is exceeded, or a dtype name is unknown. The builder's
        own ``ValueError`` passes through for a bad field value.

    Example:
      >>> get("he_normal") == he_normal()
      True
      >>> get({"name": "normal", "stddev": 0.1, "dtype": "bfloat16"})
      Normal(stddev=0.1, dtype=dtype(bfloat16), mean=0.0)
      >>> get('{"name": "scaled", "init": "lecun_normal", "factor": 0.5}').factor
      0.5
    """
    if isinstance(name_or_config, Initializer):
        return name_or_config
    if isinstance(name_or_config, str):
        if name_or_config.lstrip().startswith(("{", "[", '"')):
            return _from_config(_parse_json(name_or_config), depth=1)
        return _from_config({"name": name_or_config}, depth=1)
    if isinstance(name_or_config, Mapping):
        return _from_config(name_or_config, depth=1)
    raise TypeError(
        "get: expected a registry name, a config dict, a JSON object string or an "
        f"Initializer, got {type(name_or_config).__name__}."
    )


def to_config(scheme: Initializer) -> dict[str, Any]:
    """Return the config of ``scheme``: its builder's name and its fields as plain data.

    The config is ``{"name": builder, **fields}`` with every field of the
    scheme's dataclass, a dtype as its name (``"bfloat16"``), tuples as lists
    and a nested scheme as its own config, so ``json.dumps`` accepts it and
    ``get(to_config(scheme)) == scheme``. Schemes built by an alias or a
    named family get the config of the core scheme they build, for example
    ``"variance_scaling"`` for ``lecun_normal()``.

    Args:
      scheme: a jaxinit scheme whose class is in the registry.

    Returns:
      A dict of plain data.

    Raises:
      TypeError: ``scheme`` is not an ``Initializer``, or its class has no
        registry name (a user-defined subclass).
      ValueError: a field cannot be written as plain data, such as the complex
        value of ``constant(1j)``.

    Example:
      >>> to_config(get("torch:linear"))["scale"] == 1 / 3
      True
      >>> to_config(normal(0.1))
      {'name': 'normal', 'stddev': 0.1, 'dtype': None, 'mean': 0.0}
    """
    if not isinstance(scheme, Initializer):
        raise TypeError(
            f"to_config: scheme must be a jaxinit Initializer, got {type(scheme).__name__}."
        )
    name = _CONFIG_NAMES.get(type(scheme))
    if name is None:
        raise TypeError(
            f"to_config: {type(scheme).__name__} has no registry name, so it has no config; "
            "only the schemes that jaxinit.list_schemes() builds have one."
        )

    config: dict[str, Any] = {"name": name}
    for field in dataclasses.fields(scheme):
        config[field.name] = _encode(name, field.name, getattr(scheme, field.name))
    return config


def _encode(scheme: str, field: str, value: Any) -> Any:
    if isinstance(value, Initializer):
        return to_config(value)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return [int(item) for item in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueError(
        f"to_config: field {field!r} of {scheme!r} is {value!r}, which a config cannot "
        "contain; a config contains only strings, ints, floats, booleans, None and lists "
        "of ints."
    )


# Reading configs.


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _entry(name: Any) -> _Entry:
    if not isinstance(name, str):
        raise TypeError(f"get: the config name must be a string, got {_short_repr(name)}.")
    if len(name) > MAX_STRING_LENGTH:
        raise ValueError(
            f"get: the name {_short_repr(name)} has {len(name)} characters; registry names "
            f"have at most {MAX_STRING_LENGTH}."
        )
    entry = _REGISTRY.get(name)
    if entry is not None:
        return entry

    matches = difflib.get_close_matches(name.lower(), _REGISTRY, n=3, cutoff=0.6)
    hint = ""
    if matches:
        quoted = [repr(match) for match in matches]
        alternatives = (
            quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        )
        hint = f" Did you mean {alternatives}?"
    raise ValueError(
        f"get: unknown initializer name {_short_repr(name)}.{hint} Run 'jaxinit list' or call "
        "jaxinit.list_schemes() to see every name."
    )


def _accepted_fields(builder: Callable[..., Initializer]) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(builder).parameters
    return {
        name: parameter
        for name, parameter in parameters.items()
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }


def _from_config(config: Mapping[Any, Any], depth: int) -> Initializer:
    if depth > MAX_DEPTH:
        raise ValueError(
            f"get: the config nests more than {MAX_DEPTH} levels deep; nested scheme configs "
            f"under {_NESTED_FIELD!r} may go at most {MAX_DEPTH} levels deep."
        )
    if len(config) > MAX_FIELDS:
        raise ValueError(
            f"get: the config has {len(config)} fields; a config has at most {MAX_FIELDS}."
        )
    for key in config:
        if not isinstance(key, str):
            raise TypeError(f"get: config keys must be strings, got {_short_repr(key)}.")
    if "name" not in config:
        raise ValueError(
            f"get: the config {_short_repr(dict(config))} has no 'name' field; add the "
            "registry name, for example {'name': 'lecun_normal'}."
        )

    name = config["name"]
    builder = _entry(name).builder
    accepted = _accepted_fields(builder)
    accepted_text = ", ".join(accepted) if accepted else "none"
    arguments: dict[str, Any] = {}
    for field, value in config.items():
        if field == "name":
            continue
        if field not in accepted:
            matches = difflib.get_close_matches(field, accepted, n=1)
            hint = f" Did you mean {matches[0]!r}?" if matches else ""
            raise ValueError(
                f"get: unknown field {_short_repr(field)} for {name!r}; accepted fields are "
                f"{accepted_text}.{hint}"
            )
        arguments[field] = _decode(name, field, value, depth)

    missing = [
        field
        for field, parameter in accepted.items()
        if parameter.default is parameter.empty and field not in arguments
    ]
    if missing:
        raise ValueError(
            f"get: {name!r} needs the field {missing[0]!r}, so pass a config such as "
            f"{{'name': {name!r}, {missing[0]!r}: ...}}; accepted fields are {accepted_text}."
        )
    return builder(**arguments)


def _decode(scheme: str, field: str, value: Any, depth: int) -> Any:
    if field == _NESTED_FIELD:
        if isinstance(value, str):
            # A bare name nests no further, so it stays at the depth of its parent.
            return _from_config({"name": value}, depth)
        if isinstance(value, Mapping):
            return _from_config(value, depth + 1)
        raise TypeError(
            f"get: field {field!r} of {scheme!r} must be a registry name or a config, got "
            f"{_short_repr(value)}."
        )
    if field == "dtype":
        return _decode_dtype(scheme, value)

    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise ValueError(
                f"get: field {field!r} of {scheme!r} is a string of {len(value)} characters; "
                f"strings in a config have at most {MAX_STRING_LENGTH}."
            )
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        if len(value) > MAX_LIST_LENGTH:
            raise ValueError(
                f"get: field {field!r} of {scheme!r} is a list of {len(value)} items; lists in "
                f"a config have at most {MAX_LIST_LENGTH}."
            )
        if all(isinstance(item, int) and not isinstance(item, bool) for item in value):
            return tuple(value)
    raise TypeError(
        f"get: field {field!r} of {scheme!r} is {_short_repr(value)}; a config field must "
        "be a string, a number, a boolean, None or a list of ints."
    )


def _decode_dtype(scheme: str, value: Any) -> np.dtype | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH:
        raise TypeError(
            f"get: field 'dtype' of {scheme!r} must be a dtype name such as 'float32' or "
            f"'bfloat16', or None, got {_short_repr(value)}."
        )
    try:
        dtype = jnp.dtype(value)
    except (TypeError, ValueError):
        dtype = None
    # Only canonical names are accepted, so NumPy's type codes and structured
    # dtype strings such as "f4,i4" are rejected.
    if dtype is None or dtype.name != value:
        raise ValueError(
            f"get: field 'dtype' of {scheme!r} is {_short_repr(value)}, which is not a dtype "
            "name; use a name such as 'float32', 'bfloat16' or 'float16'."
        )
    return dtype


def _parse_json(text: str) -> Mapping[str, Any]:
    if len(text) > MAX_JSON_LENGTH:
        raise ValueError(
            f"get: the JSON config has {len(text)} characters; a JSON config has at most "
            f"{MAX_JSON_LENGTH}."
        )
    _check_json_depth(text)
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except _DuplicateKeyError:
        raise
    except json.JSONDecodeError as error:
        raise ValueError(
            f"get: the JSON config is invalid: {error.msg} at character {error.pos}."
        ) from None
    except ValueError as error:
        # json raises a plain ValueError for ints with more digits than Python allows.
        raise ValueError(f"get: the JSON config is invalid: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"get: a JSON config must be an object such as "
            f'{{"name": "normal", "stddev": 0.1}}, got a JSON {_JSON_KINDS[type(value)]}.'
        )
    return value


_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _check_json_depth(text: str) -> None:
    """Raise before parsing if brackets nest deeper than a config can.

    A config nests ``MAX_DEPTH`` objects under ``"init"`` and one list of ints
    below the deepest, so ``MAX_DEPTH + 1`` brackets are the limit. Checking
    before parsing keeps ``json.loads`` from recursing on hostile input.
    """
    depth = 0
    in_string = False
    escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "{[":
            depth += 1
            if depth > MAX_DEPTH + 1:
                raise ValueError(
                    f"get: the config nests more than {MAX_DEPTH} levels deep; nested scheme "
                    f"configs under {_NESTED_FIELD!r} may go at most {MAX_DEPTH} levels deep."
                )
        elif character in "}]":
            depth -= 1


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(
                f"get: the JSON config names the field {_short_repr(key)} twice."
            )
        result[key] = value
    return result
