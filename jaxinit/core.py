"""The initializer contract shared by every scheme.

A scheme is a frozen dataclass whose fields are its hyperparameters. Calling it
as ``init(key, shape, dtype=None, out_sharding=None)`` returns a ``jax.Array``,
the same call that ``jax.nn.initializers`` and Flax use. The base class here
does the work that every scheme shares:

1. normalize and check the shape, dtype and key in plain Python, so bad input
   fails before anything is traced;
2. return an empty array for a shape with a zero-sized axis;
3. sample through one jitted function whose static arguments are the scheme,
   shape and dtype, so equal schemes share one compilation;
4. sample low-precision floats in float32 and round once at the end.

This module also contains the argument checks that the scheme constructors use,
so every error message has the same form.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

Shape = tuple[int, ...]
Axes = int | tuple[int, ...]

_LOW_PRECISION_ITEMSIZE = 2


class Initializer:
    """Base class of every jaxinit scheme.

    Subclasses are frozen dataclasses. They implement ``_sample`` (traced; it
    receives the sampling dtype) and may extend ``_check`` (plain Python; it
    receives the requested dtype). Class attributes:

    - ``random``: whether the scheme draws from the key. Deterministic schemes
      accept integer and boolean dtypes and ignore the key.
    - ``allow_complex``: whether complex dtypes are accepted.
    """

    random: ClassVar[bool] = True
    allow_complex: ClassVar[bool] = False

    def __call__(
        self,
        key: jax.Array,
        shape: Sequence[int],
        dtype: Any = None,
        out_sharding: Any = None,
    ) -> jax.Array:
        """Return an array of ``shape`` and ``dtype`` drawn from this scheme.

        Args:
          key: a typed key (``jax.random.key``) or a legacy uint32 key
            (``jax.random.PRNGKey``). Deterministic schemes ignore it.
          shape: the shape of the parameter, a sequence of non-negative ints.
          dtype: the dtype of the result. ``None`` means the scheme's own
            ``dtype`` field if it has one, else the default float dtype
            (float32, or float64 under ``jax_enable_x64``).
          out_sharding: an optional ``NamedSharding`` (or ``PartitionSpec``
            inside a mesh context) for the result.

        Raises:
          TypeError: the shape, dtype or key is of the wrong kind.
          ValueError: the key is a batch of keys, or the shape or dtype does
            not suit the scheme (such as too few axes for a fan-based scheme,
            or samples that would overflow the dtype).
        """
        name = type(self).__name__
        shape = canonical_shape(name, shape)
        dtype = canonical_dtype(name, dtype if dtype is not None else getattr(self, "dtype", None))
        _check_dtype_kind(self, dtype)
        if self.random:
            _check_key(name, key)
        else:
            # The key is ignored, so it need not even be an array.
            key = None
        self._check(shape, dtype)

        if _names_explicit_axes(out_sharding):
            # TODO: on an Explicit mesh every device samples the whole array
            # before the reshard. An Auto mesh, or jax.jit with out_shardings,
            # samples each shard in place.
            return jax.sharding.reshard(self(key, shape, dtype), out_sharding)
        if math.prod(shape) == 0:
            empty = jnp.zeros(shape, dtype)
            if out_sharding is not None:
                empty = jax.lax.with_sharding_constraint(empty, out_sharding)
            return empty
        return _sample_compiled(self, key, shape, dtype, out_sharding)

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        """Raise if this scheme cannot produce ``shape``; the base accepts any shape."""

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        raise NotImplementedError

    def _finalize(self, values: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        """Adjust ``values`` after the cast to the requested ``dtype``; the base keeps them.

        Schemes with a bounded support override this to clip values that the
        final rounding pushed onto or past a bound.
        """
        return values


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def _sample_compiled(
    scheme: Initializer, key: jax.Array, shape: Shape, dtype: np.dtype, out_sharding: Any
) -> jax.Array:
    values = scheme._sample(key, shape, sampling_dtype(dtype))
    values = scheme._finalize(values.astype(dtype), shape, dtype)
    if out_sharding is not None:
        values = jax.lax.with_sharding_constraint(values, out_sharding)
    return values


def _names_explicit_axes(out_sharding: Any) -> bool:
    """Return whether ``out_sharding`` shards over a mesh axis of type Explicit.

    ``with_sharding_constraint`` accepts only Auto axes and ``reshard`` only
    Explicit ones, so the call picks one by the axes that the spec names.
    """
    if isinstance(out_sharding, jax.sharding.NamedSharding):
        mesh, spec = out_sharding.mesh, out_sharding.spec
    elif isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh, spec = jax.sharding.get_abstract_mesh(), out_sharding
    else:
        return False
    axis_types = dict(zip(mesh.axis_names, mesh.axis_types, strict=True))
    for entry in spec:
        names = entry if isinstance(entry, tuple) else (entry,)
        for name in names:
            if axis_types.get(name) == jax.sharding.AxisType.Explicit:
                return True
    return False


def sampling_dtype(dtype: np.dtype) -> np.dtype:
    """Return the dtype to sample in: float32 for 16-bit and 8-bit floats, else ``dtype``.

    Sampling bfloat16 directly leaves only a few hundred distinct values, which
    shifts the mean and clips the tails. Rounding a float32 sample once keeps
    the distribution's moments.
    """
    if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize <= _LOW_PRECISION_ITEMSIZE:
        return np.dtype(np.float32)
    return dtype


def default_float_dtype() -> np.dtype:
    return np.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)


def normal_sample_bound(dtype: np.dtype) -> float:
    """Return an upper bound on ``abs(jax.random.normal(key, shape, dtype))``.

    ``jax.random.normal`` applies ``sqrt(2) * erfinv`` to a uniform sample that
    stays at least ``finfo(dtype).epsneg`` away from -1 and 1. Because
    ``erfc(x) < exp(-x**2)``, no sample exceeds ``sqrt(-2 log(epsneg))``:
    about 5.77 in float32 and 8.57 in float64 (16-bit floats are sampled in
    float32).
    """
    epsneg = float(jnp.finfo(sampling_dtype(dtype)).epsneg)
    return math.sqrt(-2.0 * math.log(epsneg))


def check_fits_dtype(scheme: str, dtype: np.dtype, magnitude: float, arguments: str) -> None:
    """Raise ``ValueError`` if values of size ``magnitude`` overflow ``dtype``.

    ``arguments`` names the scheme arguments that set the magnitude, for the
    message.
    """
    largest = float(jnp.finfo(dtype).max)
    if not magnitude <= largest:
        raise ValueError(
            f"{scheme}: with {arguments}, values can reach {magnitude:.4g} in magnitude, "
            f"which overflows {dtype} (largest finite value {largest:.4g}); "
            "use a smaller scale or a wider dtype."
        )


def inward_bounds(
    low: float, high: float, dtype: np.dtype, *, high_open: bool
) -> tuple[np.generic, np.generic]:
    """Return the smallest and largest values of ``dtype`` inside ``[low, high]``.

    With ``high_open`` the interval is ``[low, high)``. When no value of
    ``dtype`` lies inside, the first result exceeds the second.
    """
    scalar = np.dtype(dtype).type
    lo = scalar(low)
    if float(lo) < low:
        lo = np.nextafter(lo, scalar(np.inf))
    hi = scalar(high)
    if float(hi) > high or (high_open and float(hi) == high):
        hi = np.nextafter(hi, scalar(-np.inf))
    return lo, hi


# Normalization of call arguments.


def canonical_shape(scheme: str, shape: Any) -> Shape:
    """Return ``shape`` as a tuple of Python ints, or raise naming ``scheme``."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{scheme}: shape must be a sequence of non-negative ints, got {shape!r}."
        ) from None
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral | np.integer):
            raise TypeError(
                f"{scheme}: shape must be a sequence of non-negative ints, got {shape!r}."
            )
        if dim < 0:
            raise ValueError(
                f"{scheme}: shape must be a sequence of non-negative ints, got {shape!r}."
            )
    return tuple(int(dim) for dim in dims)


def canonical_dtype(scheme: str, dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype; ``None`` becomes the default float dtype."""
    if dtype is None:
        return default_float_dtype()
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{scheme}: dtype must be a NumPy or JAX dtype, got {dtype!r}.") from None
    if not _is_numeric(resolved):
        raise TypeError(f"{scheme}: dtype must be a numeric or boolean dtype, got {resolved}.")
    # Without jax_enable_x64, 64-bit requests become their 32-bit twins here,
    # as JAX itself would do, so that no call emits JAX's truncation warning.
    return np.dtype(jax.dtypes.canonicalize_dtype(resolved))


def _is_numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "biufc" or jnp.issubdtype(dtype, jnp.floating)


def _check_dtype_kind(scheme: Initializer, dtype: np.dtype) -> None:
    name = type(scheme).__name__
    is_float = jnp.issubdtype(dtype, jnp.floating)
    is_complex = jnp.issubdtype(dtype, jnp.complexfloating)
    if not scheme.random:
        return
    if is_float:
        return
    if is_complex and scheme.allow_complex:
        return
    accepted = "floating or complex dtypes" if scheme.allow_complex else "floating dtypes"
    raise TypeError(
        f"{name} draws random values, so it accepts only {accepted} "
        f"(such as float32 or bfloat16), got {dtype}."
    )


def _check_key(scheme: str, key: Any) -> None:
    dtype = getattr(key, "dtype", None)
    if dtype is None:
        raise TypeError(
            f"{scheme}: key must be a JAX PRNG key from jax.random.key or jax.random.PRNGKey, "
            f"got {type(key).__name__}."
        )
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if np.ndim(key) != 0:
            raise ValueError(
                f"{scheme}: key must be a single key of shape (), got a key array of shape "
                f"{tuple(key.shape)}; use jax.vmap or jaxinit.init_many for many keys."
            )
        return
    if dtype == np.uint32 and np.ndim(key) > 1:
        raise ValueError(
            f"{scheme}: key must be a single key, got an array of legacy keys of shape "
            f"{tuple(np.shape(key))}; use jax.vmap or jaxinit.init_many for many keys."
        )
    if dtype != np.uint32 or np.ndim(key) != 1:
        raise TypeError(
            f"{scheme}: key must be a JAX PRNG key from jax.random.key or jax.random.PRNGKey, "
            f"got an array of dtype {dtype} and shape {tuple(np.shape(key))}."
        )


# Checks for constructor arguments, shared by every scheme so messages agree.


def check_real(scheme: str, arg: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"{scheme}: {arg} must be a real number, got {value!r}.")
    if np.ndim(value) != 0 or not np.isrealobj(value):
        raise TypeError(f"{scheme}: {arg} must be a real number, got {value!r}.")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{scheme}: {arg} must be finite, got {result}.")
    return result


def check_nonnegative(scheme: str, arg: str, value: Any) -> float:
    result = check_real(scheme, arg, value)
    if result < 0:
        raise ValueError(f"{scheme}: {arg} must be non-negative, got {result}.")
    return result


def check_positive(scheme: str, arg: str, value: Any) -> float:
    result = check_real(scheme, arg, value)
    if result <= 0:
        raise ValueError(f"{scheme}: {arg} must be positive, got {result}.")
    return result


def check_int(scheme: str, arg: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{scheme}: {arg} must be an int, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{scheme}: {arg} must be an int >= {minimum}, got {value}.")
    return int(value)


def check_choice(scheme: str, arg: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        accepted = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{scheme}: {arg} must be one of {accepted}, got {value!r}.")
    return value


def check_axes(scheme: str, arg: str, value: Any) -> Axes:
    """Return an axis argument as an int or a tuple of ints, or raise ``TypeError``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if all(isinstance(axis, numbers.Integral) and not isinstance(axis, bool) for axis in value):
            return tuple(int(axis) for axis in value)
    raise TypeError(f"{scheme}: {arg} must be an int or a sequence of ints, got {value!r}.")


def check_dtype_field(
    scheme: str, value: Any, *, random: bool = False, allow_complex: bool = False
) -> np.dtype | None:
    """Normalize a scheme's optional default ``dtype`` field.

    With ``random=True`` the dtype must be floating (or complex, with
    ``allow_complex``), the dtypes that a random scheme's call accepts, so a
    bad default fails when the scheme is built rather than when it is called.
    """
    if value is None:
        return None
    try:
        resolved = np.dtype(value)
    except TypeError:
        raise TypeError(f"{scheme}: dtype must be None or a dtype, got {value!r}.") from None
    if not _is_numeric(resolved):
        raise TypeError(
            f"{scheme}: dtype must be None or a numeric or boolean dtype, got {resolved}."
        )
    if not random or jnp.issubdtype(resolved, jnp.floating):
        return resolved
    if allow_complex and jnp.issubdtype(resolved, jnp.complexfloating):
        return resolved
    accepted = "a floating or complex dtype" if allow_complex else "a floating dtype"
    raise TypeError(
        f"{scheme}: dtype must be None or {accepted} (such as float32 or bfloat16) "
        f"because the scheme draws random values, got {resolved}."
    )


def normalize_axes(scheme: str, arg: str, axes: Axes, ndim: int) -> tuple[int, ...]:
    """Return ``axes`` as non-negative ints for an array of ``ndim`` axes."""
    items = (axes,) if isinstance(axes, int) else axes
    normalized = []
    for axis in items:
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{scheme}: {arg}={axes!r} is out of range for a shape with {ndim} axes; "
                f"accepted axes are {-ndim} to {ndim - 1}."
            )
        normalized.append(axis % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{scheme}: {arg}={axes!r} names the same axis twice.")
    return tuple(normalized)


def set_fields(instance: Any, **values: Any) -> None:
    """Assign normalized values to fields of a frozen dataclass inside ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(instance, name, value)
