"""Schemes built from other schemes: ``scaled`` and ``per_slice``.

A combinator is a frozen dataclass whose field ``init`` is the inner scheme,
so it compares, hashes, pickles and round-trips through ``to_config`` like
any other scheme. It takes ``random``, ``allow_complex`` and the default
``dtype`` from the inner scheme, and calls the inner scheme's ``_check`` and
``_sample`` directly, so the whole combination compiles as one program.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import (
    Initializer,
    Shape,
    check_int,
    check_real,
    normalize_axes,
    set_fields,
)


def _check_initializer(scheme: str, value: Any) -> Initializer:
    if not isinstance(value, Initializer):
        raise TypeError(
            f"{scheme}: init must be a jaxinit Initializer such as lecun_normal(), "
            f"got {type(value).__name__}; use jaxinit.get to build one from a name or config."
        )
    return value


class _Wrapper(Initializer):
    """Base class of the combinators, which take their dtype rules from ``init``.

    ``random``, ``allow_complex`` and the default ``dtype`` are those of ``init``.
    """

    init: Initializer

    @property
    def random(self) -> bool:  # type: ignore[override]  # a property in place of a ClassVar
        return self.init.random

    @property
    def allow_complex(self) -> bool:  # type: ignore[override]  # same reason as random
        return self.init.allow_complex

    @property
    def dtype(self) -> Any:
        """The inner scheme's default dtype, used when the call passes none."""
        return getattr(self.init, "dtype", None)


@dataclasses.dataclass(frozen=True)
class Scaled(_Wrapper):
    """Initializer that multiplies the values of ``init`` by ``factor``.

    Build it with :func:`scaled`.
    """

    init: Initializer
    factor: float

    def __post_init__(self):
        set_fields(
            self,
            init=_check_initializer("scaled", self.init),
            factor=check_real("scaled", "factor", self.factor),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        if dtype == np.bool_:
            raise TypeError(
                f"scaled: a boolean array cannot be scaled, got dtype {dtype}; use a numeric dtype."
            )
        if jnp.issubdtype(dtype, jnp.integer) and not self.factor.is_integer():
            raise ValueError(
                f"scaled: factor {self.factor} is not a whole number, so it cannot scale an "
                f"integer array of dtype {dtype}."
            )
        if jnp.issubdtype(dtype, jnp.inexact):
            largest = float(jnp.finfo(dtype).max)
            # TODO: only the factor itself is checked against the dtype's range. A
            # large inner value times the factor can still overflow to inf.
            if abs(self.factor) > largest:
                raise ValueError(
                    f"scaled: factor {self.factor} overflows {dtype} (largest finite value "
                    f"{largest:.4g}); use a smaller factor or a wider dtype."
                )
        self.init._check(shape, dtype)

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # The inner scheme's final clipping (such as uniform's half-open bound) is
        # applied in the sampling dtype, before the multiply and the one rounding.
        values = self.init._finalize(self.init._sample(key, shape, dtype), shape, dtype)

        # The barrier keeps XLA from merging this multiply with one inside the
        # inner scheme, which could change the last bit under an outer jit or vmap.
        values = jax.lax.optimization_barrier(values)
        if jnp.issubdtype(dtype, jnp.inexact):
            factor = np.finfo(dtype).dtype.type(self.factor)
        else:
            factor = np.array(int(self.factor), dtype)
        return values * factor


def scaled(init: Initializer, factor: float) -> Scaled:
    """Build an initializer whose values are those of ``init`` times ``factor``.

    ``w = factor * w0`` with ``w0`` drawn from ``init`` with the same key, so
    the standard deviation is ``|factor|`` times that of ``init``, the mean is
    ``factor`` times its mean, and ``factor=0`` gives zeros. Use it to shrink
    an output layer (for example ``scaled(lecun_normal(), 0.1)``) or to
    scale a residual branch by ``1 / sqrt(depth)``.

    The result accepts the dtypes that ``init`` accepts and uses its default
    dtype. Integer dtypes, which only deterministic schemes such as
    ``ones`` accept, need a whole-number factor.

    Args:
      init: the inner scheme, a jaxinit ``Initializer``.
      factor: the multiplier, a finite real number; negative values and 0
        are accepted.

    Returns:
      A ``Scaled`` scheme.

    Raises:
      TypeError: ``init`` is not an ``Initializer`` or ``factor`` is not a real
        number (when built); the dtype is boolean (when called).
      ValueError: ``factor`` is nan or infinite (when built); the dtype is an
        integer dtype and ``factor`` is not a whole number, or ``abs(factor)``
        exceeds the dtype's largest finite value (when called).

    Warning:
      Only ``factor`` itself is checked against the dtype's range, so a large
      inner value times a large factor can still overflow to inf in a 16-bit
      dtype.

    Example:
      >>> from jaxinit.variance import lecun_normal
      >>> init = scaled(lecun_normal(), 0.1)
      >>> w = init(jax.random.key(0), (400, 300))
      >>> round(float(w.std() * 400**0.5), 2)
      0.1
    """
    return Scaled(init, factor)


def _check_sections(value: Any) -> int | tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int("per_slice", "sections", value, minimum=1)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0:
        if all(isinstance(size, numbers.Integral) and not isinstance(size, bool) for size in value):
            sizes = tuple(int(size) for size in value)
            if min(sizes) < 1:
                raise ValueError(
                    f"per_slice: every size in sections must be an int >= 1, got {sizes}."
                )
            return sizes
    raise TypeError(
        f"per_slice: sections must be an int (a number of equal slices) or a non-empty "
        f"sequence of slice sizes, got {value!r}."
    )


@dataclasses.dataclass(frozen=True)
class PerSlice(_Wrapper):
    """Initializer that draws each slice of a fused kernel on its own.

    Build it with :func:`per_slice`.
    """

    init: Initializer
    sections: int | tuple[int, ...]
    axis: int = -1

    def __post_init__(self):
        set_fields(
            self,
            init=_check_initializer("per_slice", self.init),
            sections=_check_sections(self.sections),
            axis=check_int("per_slice", "axis", self.axis),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        for slice_shape in set(self._slice_shapes(shape)):
            self.init._check(slice_shape, dtype)

    def _slice_shapes(self, shape: Shape) -> list[Shape]:
        (axis,) = normalize_axes("per_slice", "axis", self.axis, len(shape))
        length = shape[axis]
        if isinstance(self.sections, int):
            if length % self.sections != 0:
                raise ValueError(
                    f"per_slice: axis {self.axis} of shape {shape} has length {length}, which "
                    f"does not split into sections={self.sections} equal slices; pass a length "
                    f"divisible by {self.sections} or a tuple of slice sizes."
                )
            sizes = (length // self.sections,) * self.sections
        else:
            sizes = self.sections
            if sum(sizes) != length:
                raise ValueError(
                    f"per_slice: sections {sizes} sum to {sum(sizes)}, but axis {self.axis} of "
                    f"shape {shape} has length {length}; the sizes must sum to the axis length."
                )
        return [(*shape[:axis], size, *shape[axis + 1 :]) for size in sizes]

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        slice_shapes = self._slice_shapes(shape)
        if len(slice_shapes) == 1:
            return self.init._sample(key, slice_shapes[0], dtype)

        keys = jax.random.split(key, len(slice_shapes)) if self.init.random else None
        parts = [
            self.init._sample(keys[index] if keys is not None else key, slice_shape, dtype)
            for index, slice_shape in enumerate(slice_shapes)
        ]
        (axis,) = normalize_axes("per_slice", "axis", self.axis, len(shape))
        return jnp.concatenate(parts, axis=axis)

    def _finalize(self, values: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # Each slice gets the inner scheme's final step with its own shape, so a
        # bound that depends on the fans is the slice's bound.
        if type(self.init)._finalize is Initializer._finalize:
            return values
        slice_shapes = self._slice_shapes(shape)
        (axis,) = normalize_axes("per_slice", "axis", self.axis, len(shape))
        boundaries = np.cumsum([slice_shape[axis] for slice_shape in slice_shapes])[:-1]
        parts = jnp.split(values, boundaries.tolist(), axis=axis)
        finalized = [
            self.init._finalize(part, slice_shape, dtype)
            for part, slice_shape in zip(parts, slice_shapes, strict=True)
        ]
        return jnp.concatenate(finalized, axis=axis)


def per_slice(init: Initializer, axis: int = -1, *, sections: int | Sequence[int]) -> PerSlice:
    """Build an initializer that draws each slice of a fused kernel as its own array.

    A fused kernel packs several parameters along one axis: the query, key and
    value projections of attention in one ``(d_model, 3 * d)`` kernel, or the
    four LSTM gates in one ``(in, 4 * h)`` kernel. A fan-based scheme that
    draws the fused kernel as one array uses ``fan_out = 3 * d``. This scheme
    splits ``axis`` into slices, draws slice ``i`` from ``init`` with the
    shape of that slice (so its fans are those of one projection) and the key
    ``jax.random.split(key, n)[i]``, and concatenates the slices along
    ``axis``. With a single slice the key is passed on unchanged, so
    ``per_slice(init, sections=1)`` returns the same values as ``init``.

    The split changes the distribution of schemes that depend on the fans
    (``fan_out``, ``fan_avg`` and ``fan_geo_avg`` modes when the output axis
    is split, ``fan_in`` modes when the input axis is split) or on the shape
    (``orthogonal``). With ``lecun_normal`` split along the output axis, each
    slice has the variance of the whole kernel but is drawn from its own key.

    Stacked kernels: for a stack of ``B`` independent kernels of shape
    ``(B, in, out)``, ``per_slice(init, axis=0, sections=B)`` draws each
    ``(1, in, out)`` slice on its own, and a size-1 axis leaves the fans of
    ``(in, out)`` unchanged. ``variance_scaling(..., batch_axis=0)`` gives
    the same distribution in one draw and is the cheaper choice for the
    variance-scaling families. The inner scheme sees the kept size-1 axis, so
    ``sparse``, which accepts only 2-D shapes, rejects it, and ``dirac``
    reads it as a spatial axis.

    Args:
      init: the scheme for each slice, a jaxinit ``Initializer``.
      axis: the axis to split, an int; negative values count from the end.
        Default ``-1``, the output axis of a Flax kernel.
      sections: keyword only. An int ``n >= 1`` splits the axis into ``n``
        equal slices; a sequence of ints >= 1 gives the slice sizes, which
        must sum to the axis length.

    Returns:
      A ``PerSlice`` scheme.

    Raises:
      TypeError: ``init`` is not an ``Initializer``, or ``axis`` or
        ``sections`` is of the wrong kind (when built).
      ValueError: a slice size is below 1 (when built); ``axis`` is out of
        range, the axis length is not divisible by ``sections``, or the sizes
        do not sum to it (when called).

    Example:
      >>> from jaxinit.variance import glorot_uniform
      >>> qkv = per_slice(glorot_uniform(), sections=3)
      >>> w = qkv(jax.random.key(0), (64, 96))
      >>> w.shape
      (64, 96)
      >>> round(float(jnp.abs(w).max() / (6 / (64 + 32)) ** 0.5), 2)
      1.0

    References:
      Vaswani et al. "Attention Is All You Need", 2017 (fused query, key and
      value projections). Hochreiter, Schmidhuber. "Long Short-Term Memory",
      1997 (gates).
    """
    return PerSlice(init, sections, axis)
