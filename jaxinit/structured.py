"""Structured schemes: orthogonal, delta-orthogonal, identity, Dirac, sparse, SIREN, ZerO.

These schemes build weights with a structure beyond independent entries: an
orthogonal matrix, an identity at the centre tap of a convolution kernel, a
fixed number of zeros per column, or a Hadamard pattern. SmallInit, a plain
normal whose standard deviation comes from a Transformer paper, lives here too.

Every scale-like argument (``scale``, ``gain``, ``stddev``, ``w0``, ``c``)
must be finite and non-negative, and ``w0`` and ``c`` must be positive. JAX's
``orthogonal`` and ``delta_orthogonal`` accept any scale, so a negative or
non-finite scale that JAX would take raises ``ValueError`` here.

Convolution kernels use Flax's layout ``(*spatial, in, out)``. The centre tap
of a spatial axis of size ``k`` is index ``(k - 1) // 2``, the tap that
``padding="SAME"`` aligns with the output position, also for even ``k``.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import (
    Axes,
    Initializer,
    Shape,
    check_axes,
    check_dtype_field,
    check_fits_dtype,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    inward_bounds,
    normal_sample_bound,
    normalize_axes,
    set_fields,
)
from jaxinit.fans import compute_fans

_BIAS_HINT = "For a bias or other 1-D parameter, use zeros, constant or normal instead"
_CONV_RANKS = (3, 4, 5)


def _check_matrix_rank(scheme: str, shape: Shape) -> None:
    if len(shape) < 2:
        raise ValueError(
            f"{scheme}: shape must have at least two axes, got shape {shape}. {_BIAS_HINT}."
        )


def _check_conv_rank(scheme: str, shape: Shape) -> None:
    if len(shape) not in _CONV_RANKS:
        raise ValueError(
            f"{scheme}: shape must be a 3-D, 4-D or 5-D convolution kernel "
            f"(*spatial, in, out), got shape {shape}."
        )


def _centre_tap(shape: Shape) -> tuple[int, ...]:
    """Return the index of the centre tap of the spatial axes of ``(*spatial, in, out)``."""
    return tuple((size - 1) // 2 for size in shape[:-2])


def _place_at_centre(matrix: jax.Array, shape: Shape) -> jax.Array:
    """Return a kernel of ``shape`` that is ``matrix`` at the centre tap and zero elsewhere."""
    kernel = jnp.zeros(shape, matrix.dtype)
    return kernel.at[_centre_tap(shape)].set(matrix)


def _check_fills_dtype(scheme: str, arg: str, value: float, dtype: np.dtype) -> None:
    """Raise if the non-negative ``value`` does not fit ``dtype``.

    It does not fit as a value other than 0 or 1 for booleans, as a fraction
    or a value above the maximum for integers, and as an overflow to inf for
    floats. Rounding to a nearby float is allowed.
    """
    if dtype == np.bool_:
        if value not in (0.0, 1.0):
            raise ValueError(
                f"{scheme}: {arg} must be 0 or 1 for a boolean array, got {arg}={value}."
            )
        return
    if jnp.issubdtype(dtype, jnp.integer):
        if value != int(value):
            raise ValueError(
                f"{scheme}: {arg}={value} is not a whole number, so it cannot fill an "
                f"integer array of dtype {dtype}."
            )
        if value > np.iinfo(dtype).max:
            raise ValueError(
                f"{scheme}: {arg}={value} exceeds the maximum {np.iinfo(dtype).max} of "
                f"dtype {dtype}."
            )
        return
    if not jnp.issubdtype(dtype, jnp.inexact):
        return
    with np.errstate(over="ignore"):
        stored = np.asarray(value).astype(dtype)
    if not np.isfinite(stored):
        raise ValueError(
            f"{scheme}: {arg}={value} overflows to inf in dtype {dtype}. "
            "Use a wider dtype or a smaller value."
        )


# Orthogonal and delta-orthogonal.


@dataclasses.dataclass(frozen=True)
class Orthogonal(Initializer):
    """Initializer drawing a uniformly random (semi-)orthogonal matrix.

    Build it with :func:`orthogonal`.
    """

    scale: float = 1.0
    column_axis: int = -1
    dtype: Any = None

    allow_complex = True

    def __post_init__(self):
        set_fields(
            self,
            scale=check_nonnegative("orthogonal", "scale", self.scale),
            column_axis=check_int("orthogonal", "column_axis", self.column_axis),
            dtype=check_dtype_field("orthogonal", self.dtype, random=True, allow_complex=True),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        _check_matrix_rank("orthogonal", shape)
        normalize_axes("orthogonal", "column_axis", self.column_axis, len(shape))
        # Entries of an orthogonal matrix lie in [-1, 1].
        check_fits_dtype("orthogonal", dtype, self.scale, f"scale={self.scale}")

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # The same flattening as jax.nn.initializers.orthogonal: the column axis
        # becomes the last axis of an (n_rows, n_cols) matrix, and every other
        # axis is folded into the rows in order.
        n_cols = shape[self.column_axis]
        n_rows = math.prod(shape) // n_cols
        # TODO: the QR runs on one device, so a kernel larger than one device's
        # memory cannot be initialized in place with out_sharding.
        matrix = jax.random.orthogonal(key, n_rows, (), dtype, n_cols)

        other_axes = tuple(np.delete(np.array(shape), self.column_axis).tolist())
        values = jnp.reshape(matrix, (*other_axes, n_cols))
        values = jnp.moveaxis(values, -1, self.column_axis)
        return jnp.array(self.scale, dtype) * values


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: Any = None) -> Orthogonal:
    """Build an initializer drawing uniformly random orthogonal matrices, times ``scale``.

    The array is viewed as a matrix ``A`` of shape ``(n_rows, n_cols)`` with
    ``n_cols = shape[column_axis]`` and ``n_rows = prod(shape) / n_cols``.
    ``A`` is Haar-distributed on the orthogonal group (the unitary group for
    complex dtypes): ``A^T A = I`` when ``n_rows >= n_cols`` and ``A A^T = I``
    when ``n_rows <= n_cols``, with ``A^*`` in place of ``A^T`` for complex
    dtypes. The result is ``scale * A``, with the column axis moved back to
    ``column_axis``. ``A`` is ``Q diag(sign(diag(R)))`` for the QR
    decomposition ``Q R`` of a matrix of standard normal entries (Mezzadri 2007).

    This is ``jax.nn.initializers.orthogonal`` with the same arguments, and for
    float32 it returns the same values for the same key. A shape of rank 3 or
    more is flattened to one matrix as JAX does, so a stack of kernels
    ``(B, in, out)`` gets one ``(B * in, out)`` matrix with orthonormal
    columns, not ``B`` orthogonal slices. For one orthogonal matrix per slice,
    use ``per_slice`` from the combinators or ``jax.vmap`` over split keys.

    16-bit float dtypes are computed in float32 (the QR included) and rounded
    once at the end.

    Warning:
      Unlike the variance-scaling schemes, orthogonal is not partitionable:
      the QR decomposition needs the whole matrix on one device. With
      ``out_sharding`` the matrix is computed whole and then sharded, so it
      must fit in one device's memory.

    Args:
      scale: the multiplier of the orthogonal matrix, finite and >= 0.
        Default 1. JAX accepts any value, but a negative or non-finite
        ``scale`` raises here.
      column_axis: the axis of the columns that are orthonormal. Default -1.
      dtype: the default dtype of the result; floating or complex. Default
        ``None``.

    Returns:
      An :class:`Orthogonal` initializer.

    Raises:
      ValueError: when built, if ``scale`` is negative or not finite. When
        called, if the shape has fewer than two axes, ``column_axis`` is out
        of range for it, or ``scale`` overflows the dtype.
      TypeError: when built, if ``scale`` is not a real number,
        ``column_axis`` is not an int, or ``dtype`` is not floating or
        complex. When called, if the dtype is not floating or complex.

    Example:
      >>> w = orthogonal()(jax.random.key(0), (64, 32))
      >>> float(jnp.abs(w.T @ w - jnp.eye(32)).max()) < 1e-5
      True

    References:
      Saxe, McClelland, Ganguli. "Exact solutions to the nonlinear dynamics of
      learning in deep linear neural networks", 2014. Mezzadri. "How to
      generate random matrices from the classical compact groups", 2007.
    """
    return Orthogonal(scale, column_axis, dtype)


_DELTA_COLUMN_AXES = (-2, -1, 0, 1)


@dataclasses.dataclass(frozen=True)
class DeltaOrthogonal(Initializer):
    """Initializer with an orthogonal matrix at the centre tap of a convolution kernel.

    Build it with :func:`delta_orthogonal`.
    """

    scale: float = 1.0
    column_axis: int = -1
    dtype: Any = None

    allow_complex = True

    def __post_init__(self):
        column_axis = check_int("delta_orthogonal", "column_axis", self.column_axis)
        if column_axis not in _DELTA_COLUMN_AXES:
            raise ValueError(
                "delta_orthogonal: column_axis indexes the (in, out) matrix at the centre "
                f"tap, so it must be -2, -1, 0 or 1, got {column_axis}."
            )
        set_fields(
            self,
            scale=check_nonnegative("delta_orthogonal", "scale", self.scale),
            column_axis=column_axis,
            dtype=check_dtype_field(
                "delta_orthogonal", self.dtype, random=True, allow_complex=True
            ),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        _check_conv_rank("delta_orthogonal", shape)
        in_features, out_features = shape[-2:]
        if in_features > out_features:
            raise ValueError(
                f"delta_orthogonal: the input size must not exceed the output size, got "
                f"in={in_features} and out={out_features} in shape {shape}."
            )
        check_fits_dtype("delta_orthogonal", dtype, self.scale, f"scale={self.scale}")

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        matrix = Orthogonal(self.scale, self.column_axis)._sample(key, shape[-2:], dtype)
        return _place_at_centre(matrix, shape)


def delta_orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: Any = None
) -> DeltaOrthogonal:
    """Build a delta-orthogonal initializer for convolution kernels.

    The kernel has shape ``(*spatial, in, out)`` with 1 to 3 spatial axes and
    ``in <= out``. The result is ``W[c] = scale * A`` at the centre tap
    ``c = ((k_1 - 1) // 2, ..., (k_d - 1) // 2)`` and ``W = 0`` at every other
    tap. ``A`` is an ``(in, out)`` matrix drawn as in :func:`orthogonal` with
    the same ``column_axis``. With the default ``column_axis`` the rows
    of ``A`` are orthonormal, ``A A^T = I``, so the convolution is an isometry
    at initialization.

    This is ``jax.nn.initializers.delta_orthogonal`` with the same arguments,
    and for float32 it returns the same values for the same key. 16-bit float
    dtypes are computed in float32 and rounded once at the end. Like
    :func:`orthogonal` it is not partitionable.

    Args:
      scale: the multiplier of the orthogonal matrix, finite and >= 0.
        Default 1.
      column_axis: the axis of the columns that are orthonormal, counted in
        the ``(in, out)`` matrix: -2, -1, 0 or 1. Default -1.
      dtype: the default dtype of the result; floating or complex. Default
        ``None``.

    Returns:
      A :class:`DeltaOrthogonal` initializer.

    Raises:
      ValueError: when built, if ``scale`` is negative or not finite, or
        ``column_axis`` is not one of -2, -1, 0, 1. When called, if the shape
        does not have 3 to 5 axes, its input size exceeds its output size, or
        ``scale`` overflows the dtype.
      TypeError: when built, if ``scale`` is not a real number,
        ``column_axis`` is not an int, or ``dtype`` is not floating or
        complex. When called, if the dtype is not floating or complex.

    Example:
      >>> w = delta_orthogonal()(jax.random.key(0), (3, 3, 16, 16))
      >>> float(jnp.abs(w).sum(axis=(2, 3))[0, 0]), w[1, 1].shape
      (0.0, (16, 16))

    References:
      Xiao, Bahri, Sohl-Dickstein, Schoenholz, Pennington. "Dynamical Isometry
      and a Mean Field Theory of CNNs: How to Train 10,000-Layer Vanilla
      Convolutional Neural Networks", 2018.
    """
    return DeltaOrthogonal(scale, column_axis, dtype)


# Deterministic identity-like schemes.


@dataclasses.dataclass(frozen=True)
class Identity(Initializer):
    """Initializer returning ``gain`` times the identity; build it with :func:`identity`."""

    gain: float = 1.0
    dtype: Any = None

    random = False

    def __post_init__(self):
        set_fields(
            self,
            gain=check_nonnegative("identity", "gain", self.gain),
            dtype=check_dtype_field("identity", self.dtype),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        _check_matrix_rank("identity", shape)
        _check_fills_dtype("identity", "gain", self.gain, dtype)

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        eye = jnp.eye(shape[-2], shape[-1], dtype=bool)
        matrix = jnp.where(eye, jnp.asarray(self.gain).astype(dtype), jnp.zeros((), dtype))
        return jnp.broadcast_to(matrix, shape)


def identity(gain: float = 1.0, dtype: Any = None) -> Identity:
    """Build an initializer returning ``gain`` times the identity matrix.

    For a matrix of shape ``(in, out)`` the result is ``W[i, j] = gain`` if
    ``i == j`` and 0 otherwise, so a rectangular matrix has ``min(in, out)``
    entries on its main diagonal (as ``torch.nn.init.eye_``). For a shape of
    rank 3 or more, ``(..., in, out)`` is a stack of matrices and every slice
    ``W[b]`` is the same scaled identity. This is the IRNN initialization of
    a recurrent kernel (Le, Jaitly, Hinton 2015), which uses ``gain = 1``.

    The scheme is deterministic: the key is ignored, and integer and boolean
    dtypes are accepted when ``gain`` is a whole number (0 or 1 for booleans).

    Args:
      gain: the value on the diagonal, finite and >= 0. Default 1.
      dtype: the default dtype of the result. Default ``None``.

    Returns:
      An :class:`Identity` initializer.

    Raises:
      ValueError: when built, if ``gain`` is negative or not finite. When
        called, if the shape has fewer than two axes or ``gain`` does not fit
        the dtype. A fraction or a value above the maximum does not fit an
        integer dtype, anything but 0 or 1 does not fit booleans, and an
        overflow to inf does not fit a float dtype.
      TypeError: when built, if ``gain`` is not a real number.

    Example:
      >>> identity(2.0)(jax.random.key(0), (2, 3), jnp.int32)
      Array([[2, 0, 0],
             [0, 2, 0]], dtype=int32)

    References:
      Le, Jaitly, Hinton. "A Simple Way to Initialize Recurrent Networks of
      Rectified Linear Units", 2015.
    """
    return Identity(gain, dtype)


@dataclasses.dataclass(frozen=True)
class Dirac(Initializer):
    """Initializer of identity-preserving convolution kernels; build it with :func:`dirac`."""

    groups: int = 1
    dtype: Any = None

    random = False

    def __post_init__(self):
        set_fields(
            self,
            groups=check_int("dirac", "groups", self.groups, minimum=1),
            dtype=check_dtype_field("dirac", self.dtype),
        )

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        _check_conv_rank("dirac", shape)
        out_features = shape[-1]
        if out_features % self.groups != 0:
            raise ValueError(
                f"dirac: the output size must be divisible by groups, got out={out_features} "
                f"and groups={self.groups} in shape {shape}."
            )

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        in_per_group, out_features = shape[-2:]
        out_per_group = out_features // self.groups
        rows = jnp.arange(in_per_group)[:, None]
        columns = jnp.arange(out_features)[None, :]
        # Output channel g * out_per_group + d copies input channel d of group g.
        matrix = (rows == columns % out_per_group).astype(dtype)
        return _place_at_centre(matrix, shape)


def dirac(groups: int = 1, dtype: Any = None) -> Dirac:
    """Build an initializer of convolution kernels that pass their input through.

    For a kernel of shape ``(*spatial, in_per_group, out)`` with 1 to 3
    spatial axes (Flax's layout, where ``in_per_group = in / groups``), let
    ``out_per_group = out / groups`` and ``c`` be the centre tap
    ``((k_1 - 1) // 2, ..., (k_d - 1) // 2)``. Then

    ``W[c, d, g * out_per_group + d] = 1`` for every group ``g`` and every
    ``d < min(in_per_group, out_per_group)``, and ``W = 0`` elsewhere.

    With ``padding="SAME"``, stride 1 and equal input and output channels, a
    convolution with this kernel maps its input to itself, also with
    ``feature_group_count=groups`` and ``dirac(groups)``. With more output
    than input channels, the extra output channels of each group are zero.
    With fewer, each group passes on its first ``out_per_group`` input
    channels.

    PyTorch's ``torch.nn.init.dirac_`` uses the centre ``k // 2``, which
    differs from this one for even kernel sizes. This centre is the tap that
    Flax's ``"SAME"`` padding aligns with the output.

    The scheme is deterministic: the key is ignored, and integer and boolean
    dtypes are accepted.

    Args:
      groups: the number of groups of the convolution, an int >= 1. Default 1.
      dtype: the default dtype of the result. Default ``None``.

    Returns:
      A :class:`Dirac` initializer.

    Raises:
      ValueError: when built, if ``groups`` is below 1. When called, if the
        shape does not have 3 to 5 axes or its output size is not divisible
        by ``groups``.
      TypeError: when built, if ``groups`` is not an int.

    Example:
      >>> w = dirac()(jax.random.key(0), (3, 2, 2), jnp.int32)
      >>> w[1]
      Array([[1, 0],
             [0, 1]], dtype=int32)
      >>> int(w[0].sum() + w[2].sum())
      0

    References:
      Zagoruyko, Komodakis. "DiracNets: Training Very Deep Neural Networks
      Without Skip-Connections", 2017.
    """
    return Dirac(groups, dtype)


# Random schemes with a structure or a fixed formula.


@dataclasses.dataclass(frozen=True)
class Sparse(Initializer):
    """Initializer with a fixed number of zeros per column; build it with :func:`sparse`."""

    sparsity: float
    stddev: float = 0.01
    dtype: Any = None

    def __post_init__(self):
        sparsity = check_real("sparse", "sparsity", self.sparsity)
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(
                f"sparse: sparsity must be in [0, 1), the fraction of zeros per column, "
                f"got {sparsity}."
            )
        set_fields(
            self,
            sparsity=sparsity,
            stddev=check_nonnegative("sparse", "stddev", self.stddev),
            dtype=check_dtype_field("sparse", self.dtype, random=True),
        )

    def zeros_per_column(self, fan_in: int) -> int:
        """Return ``ceil(sparsity * fan_in)``, the number of zeros in each column.

        The product is taken on the shortest decimal form of ``sparsity``, so
        ``sparsity=0.7`` on 10 rows gives 7 zeros. (PyTorch's ``sparse_`` takes
        the float product ``7.000000000000001`` and gives 8.)
        """
        return math.ceil(Fraction(repr(self.sparsity)) * fan_in)

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        if len(shape) != 2:
            raise ValueError(f"sparse: shape must be a 2-D (in, out) kernel, got shape {shape}.")
        magnitude = self.stddev * normal_sample_bound(dtype)
        check_fits_dtype("sparse", dtype, magnitude, f"stddev={self.stddev}")

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        values_key, mask_key = jax.random.split(key)
        # The barrier keeps XLA from folding stddev into the sampler's constant,
        # which would change the last bit of some values under an outer jit.
        unit = jax.lax.optimization_barrier(jax.random.normal(values_key, shape, dtype))
        values = unit * np.asarray(self.stddev, dtype)

        # The ranks of i.i.d. uniform noise down each column are a uniformly
        # random permutation of 0 .. in-1, so marking ranks below the count
        # picks a uniformly random set of exactly that many rows per column.
        noise = jax.random.uniform(mask_key, shape)
        ranks = jnp.argsort(jnp.argsort(noise, axis=0), axis=0)
        is_zero = ranks < self.zeros_per_column(shape[0])
        return jnp.where(is_zero, jnp.zeros((), dtype), values)


def sparse(sparsity: float, stddev: float = 0.01, dtype: Any = None) -> Sparse:
    """Build an initializer of sparse kernels with a fixed number of zeros per column.

    For a kernel of shape ``(in, out)``, each output column ``W[:, j]`` has
    exactly ``ceil(sparsity * in)`` zeros at rows chosen uniformly at random,
    independently per column, and its other entries are drawn from
    N(0, stddev**2). Each output unit thus starts with the same number of
    nonzero incoming weights, the sparse initialization of Martens (2010).

    ``torch.nn.init.sparse_`` zeros entries down each column of the tensor it
    gets. For a ``torch.nn.Linear`` weight of shape ``(out, in)`` that is per
    input unit, so it matches this scheme applied to the transposed kernel.
    It also rounds differently: the zero count here is computed from the
    decimal value of ``sparsity`` as written (see
    :meth:`Sparse.zeros_per_column`), so ``sparse(0.7)`` on 10 rows gives 7
    zeros where ``sparse_`` gives 8.

    Args:
      sparsity: the fraction of zeros in each column, in [0, 1).
      stddev: the standard deviation of the nonzero entries, finite and >= 0.
        Default 0.01.
      dtype: the default dtype of the result; floating. Default ``None``.

    Returns:
      A :class:`Sparse` initializer.

    Raises:
      ValueError: when built, if ``sparsity`` is outside [0, 1) or
        ``stddev`` is negative or not finite. When called, if the shape is not
        2-D (PyTorch's ``sparse_`` has the same limit) or ``stddev`` is so
        large that samples overflow the dtype.
      TypeError: when built, if ``sparsity`` or ``stddev`` is not a real
        number or ``dtype`` is not floating. When called, if the dtype is not
        floating.

    Example:
      >>> w = sparse(0.9)(jax.random.key(0), (20, 5))
      >>> (w == 0).sum(axis=0)
      Array([18, 18, 18, 18, 18], dtype=int32)

    References:
      Martens. "Deep learning via Hessian-free optimization", 2010.
    """
    return Sparse(sparsity, stddev, dtype)


@dataclasses.dataclass(frozen=True)
class Siren(Initializer):
    """Initializer for sine-activated layers (SIREN); build it with :func:`siren`."""

    w0: float = 30.0
    is_first: bool = False
    c: float = 6.0
    dtype: Any = None
    in_axis: Axes = -2
    out_axis: Axes = -1
    batch_axis: Axes = ()

    def __post_init__(self):
        if not isinstance(self.is_first, bool | np.bool_):
            raise TypeError(f"siren: is_first must be a bool, got {self.is_first!r}.")
        set_fields(
            self,
            w0=check_positive("siren", "w0", self.w0),
            is_first=bool(self.is_first),
            c=check_positive("siren", "c", self.c),
            dtype=check_dtype_field("siren", self.dtype, random=True),
            in_axis=check_axes("siren", "in_axis", self.in_axis),
            out_axis=check_axes("siren", "out_axis", self.out_axis),
            batch_axis=check_axes("siren", "batch_axis", self.batch_axis),
        )

    def _fan_in(self, shape: Shape) -> int:
        fan_in, _ = compute_fans(
            shape, self.in_axis, self.out_axis, self.batch_axis, scheme="siren"
        )
        return fan_in

    def bound(self, shape: Shape) -> float:
        """Return the half-width ``a`` of U[-a, a) for a parameter of ``shape``."""
        fan_in = self._fan_in(shape)
        if self.is_first:
            return 1.0 / fan_in
        return math.sqrt(self.c / fan_in) / self.w0

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        if self._fan_in(shape) == 0:
            return
        arguments = f"w0={self.w0}, is_first={self.is_first} and c={self.c}"
        check_fits_dtype("siren", dtype, self.bound(shape), arguments)

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        bound = np.asarray(self.bound(shape), dtype)
        unit = jax.lax.optimization_barrier(jax.random.uniform(key, shape, dtype, -1.0, 1.0))
        return unit * bound

    def _finalize(self, values: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        # The multiply, or rounding to a 16-bit dtype, can land a value on the
        # bound or past it, so values are clipped into [-bound, bound).
        bound = self.bound(shape)
        low, high = inward_bounds(-bound, bound, dtype, high_open=True)
        return jnp.clip(values, low, high)


def siren(
    w0: float = 30.0,
    is_first: bool = False,
    c: float = 6.0,
    dtype: Any = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
) -> Siren:
    """Build the SIREN initializer for layers followed by ``sin(w0 * x)``.

    The weights are drawn from U[-a, a) with

    - ``a = 1 / fan_in`` for the first layer (``is_first=True``);
    - ``a = sqrt(c / fan_in) / w0`` for every other layer,

    for a layer that computes ``sin(w0 * (x W + b))``. The variance is
    ``a**2 / 3``, and ``fan_in`` comes from :func:`compute_fans`. The first
    layer's bound depends on neither ``w0`` nor ``c``.

    Args:
      w0: the frequency factor of the sine, finite and > 0. Default 30.
      is_first: whether this is the network's first layer. Default ``False``.
      c: the constant in the hidden-layer bound, finite and > 0. Default 6.
      dtype: the default dtype of the result; floating. Default ``None``.
      in_axis: the input axis or axes of the parameter. Default ``-2``.
      out_axis: the output axis or axes of the parameter. Default ``-1``.
      batch_axis: axes of independent stacked kernels, which count towards
        neither fan. Default ``()``.

    Returns:
      A :class:`Siren` initializer.

    Raises:
      ValueError: when built, if ``w0`` or ``c`` is not positive or not
        finite. When called, if the shape has too few axes, an axis is out of
        range, or the bound overflows the dtype.
      TypeError: when built, if ``is_first`` is not a bool, ``dtype`` is not
        floating, or another argument is of the wrong kind. When called, if
        the dtype is not floating.

    Example:
      >>> init = siren()
      >>> round(init.bound((256, 256)) * 30, 4)
      0.1531
      >>> float(jnp.abs(init(jax.random.key(0), (256, 256))).max()) <= init.bound((256, 256))
      True

    References:
      Sitzmann, Martel, Bergman, Lindell, Wetzstein. "Implicit Neural
      Representations with Periodic Activation Functions", 2020.
    """
    return Siren(w0, is_first, c, dtype, in_axis, out_axis, batch_axis)


# SmallInit's variance 2 / (5 d) equals Glorot's 2 / (fan_in + fan_out) for a
# feed-forward layer that widens from d to 4 d.
_SMALL_INIT_DENOMINATOR = 5.0


@dataclasses.dataclass(frozen=True)
class SmallInit(Initializer):
    """Initializer drawing from N(0, 2 / (5 fan_in)); build it with :func:`small_init`."""

    in_axis: Axes = -2
    out_axis: Axes = -1
    batch_axis: Axes = ()
    dtype: Any = None

    def __post_init__(self):
        set_fields(
            self,
            in_axis=check_axes("small_init", "in_axis", self.in_axis),
            out_axis=check_axes("small_init", "out_axis", self.out_axis),
            batch_axis=check_axes("small_init", "batch_axis", self.batch_axis),
            dtype=check_dtype_field("small_init", self.dtype, random=True),
        )

    def stddev(self, shape: Shape) -> float:
        """Return ``sqrt(2 / (5 fan_in))`` for a parameter of ``shape``."""
        fan_in, _ = compute_fans(
            shape, self.in_axis, self.out_axis, self.batch_axis, scheme="small_init"
        )
        return math.sqrt(2.0 / (_SMALL_INIT_DENOMINATOR * fan_in))

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        compute_fans(shape, self.in_axis, self.out_axis, self.batch_axis, scheme="small_init")

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        stddev = np.asarray(self.stddev(shape), dtype)
        # The barrier keeps XLA from folding stddev into the sampler's constant.
        unit = jax.lax.optimization_barrier(jax.random.normal(key, shape, dtype))
        return unit * stddev


def small_init(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> SmallInit:
    """Build the SmallInit initializer: N(0, 2 / (5 d)) with ``d = fan_in``.

    The standard deviation is ``sqrt(2 / (5 d))``. GPT-NeoX's
    ``small_init_init_method``, an implementation of this SmallInit, takes
    ``d`` as the model width (``hidden_size``) for every Transformer weight.
    Here ``d`` is the fan-in from :func:`compute_fans`, which equals the model
    width for every projection that reads the residual stream (queries, keys,
    values, the first feed-forward layer). For a layer whose input is wider,
    such as the feed-forward output ``(4 d, d)``, pass the width yourself
    with ``normal(math.sqrt(2 / (5 * d)))``.

    Args:
      in_axis: the input axis or axes of the parameter. Default ``-2``.
      out_axis: the output axis or axes of the parameter. Default ``-1``.
      batch_axis: axes of independent stacked kernels, which count towards
        neither fan. Default ``()``.
      dtype: the default dtype of the result; floating. Default ``None``.

    Returns:
      A :class:`SmallInit` initializer.

    Raises:
      ValueError: when called, if the shape has too few axes or an axis is
        out of range.
      TypeError: when built, if an axis argument is not an int or a sequence
        of ints, or ``dtype`` is not floating. When called, if the dtype is
        not floating.

    Example:
      >>> round(small_init().stddev((512, 2048)), 5)
      0.02795

    References:
      Nguyen, Salazar. "Transformers without Tears: Improving the
      Normalization of Self-Attention", 2019.
    """
    return SmallInit(in_axis, out_axis, batch_axis, dtype)


# ZerO: identity, partial identity and Hadamard matrices.


def _zero_scale(out_features: int) -> tuple[int, float]:
    """Return ``(m, c)`` of ZerO's Hadamard case: ``m = ceil(log2(out))``, ``c = 2^(-(m-1)/2)``."""
    # NOTE: c follows Algorithm 1 of Zhao et al. 2022 (ZerO). The authors' example notebook
    # (example_mnist.ipynb in jiaweizzhao/ZerO-initialization) divides by 2^(m/2).
    order = max(out_features - 1, 0).bit_length()
    return order, 2.0 ** (-(order - 1) / 2)


@dataclasses.dataclass(frozen=True)
class ZerO(Initializer):
    """Deterministic ZerO initializer; build it with :func:`zero_init`."""

    dtype: Any = None

    random = False

    def __post_init__(self):
        set_fields(self, dtype=check_dtype_field("zero_init", self.dtype))

    def _check(self, shape: Shape, dtype: np.dtype) -> None:
        if len(shape) != 2 and len(shape) not in _CONV_RANKS:
            raise ValueError(
                f"zero_init: shape must be an (in, out) matrix or a 3-D to 5-D convolution "
                f"kernel (*spatial, in, out), got shape {shape}. {_BIAS_HINT}."
            )
        in_features, out_features = shape[-2:]
        if out_features <= in_features or jnp.issubdtype(dtype, jnp.inexact):
            return
        _, scale = _zero_scale(out_features)
        if scale != 1.0:
            raise TypeError(
                f"zero_init: a layer that widens from in={in_features} to out={out_features} gets "
                f"Hadamard entries of +-{scale:g}, which dtype {dtype} cannot represent. "
                "Use a floating dtype."
            )

    def _sample(self, key: jax.Array, shape: Shape, dtype: np.dtype) -> jax.Array:
        in_features, out_features = shape[-2:]
        if out_features <= in_features:
            matrix = jnp.eye(in_features, out_features, dtype=dtype)
        else:
            # Sylvester's Hadamard matrix has H[i, j] = (-1)^popcount(i & j), so its
            # top-left (in, out) block is computed without building all 2^m rows.
            _, scale = _zero_scale(out_features)
            rows = jnp.arange(in_features, dtype=jnp.uint32)[:, None]
            columns = jnp.arange(out_features, dtype=jnp.uint32)[None, :]
            parity = jax.lax.population_count(rows & columns) & 1
            matrix = jnp.where(parity == 0, scale, -scale).astype(dtype)
        if len(shape) == 2:
            return matrix
        return _place_at_centre(matrix, shape)


def zero_init(dtype: Any = None) -> ZerO:
    """Build the ZerO initializer: identity, partial identity or a scaled Hadamard block.

    In PyTorch's ``(out, in)`` layout, ZerO's Algorithm 1 sets a matrix
    ``W`` of ``P = out`` rows and ``Q = in`` columns to

    - ``I`` if ``P == Q``;
    - ``I*`` (the first ``P`` rows of the identity) if ``P < Q``;
    - ``c I* H_m I*`` if ``P > Q``, with ``m = ceil(log2 P)``,
      ``c = 2^(-(m-1)/2)`` and ``H_m`` Sylvester's ``2^m x 2^m`` Hadamard
      matrix, ``H_0 = [1]`` and ``H_m = [[H, H], [H, -H]]`` with
      ``H = H_(m-1)``. The two ``I*`` keep the first ``P`` rows and ``Q``
      columns of ``H_m``.

    In Flax's ``(in, out)`` layout this is ``W[i, j] = 1`` if ``i == j``
    (else 0) when ``out <= in``, and ``W[i, j] = c (-1)^popcount(i & j)``
    when ``out > in`` (``H_m`` is symmetric). A 3-D to 5-D convolution kernel
    ``(*spatial, in, out)`` gets that matrix at its centre tap
    ``((k_1 - 1) // 2, ...)`` and zeros elsewhere, as in the paper's
    Algorithm 2 for odd kernel sizes.

    The authors' example notebook normalizes the Hadamard block by
    ``2^(-m/2)`` instead, which makes widening layers ``sqrt(2)`` times
    smaller than here.

    The scheme is deterministic: the key is ignored. Integer and boolean
    dtypes are accepted unless a widening layer needs the non-integer
    Hadamard entries ``+-c``.

    Args:
      dtype: the default dtype of the result. Default ``None``.

    Returns:
      A :class:`ZerO` initializer.

    Raises:
      ValueError: when called, if the shape is neither 2-D nor 3-D to 5-D.
      TypeError: when called, if a widening layer with ``c != 1`` is
        requested in an integer or boolean dtype.

    Example:
      >>> zero_init()(jax.random.key(0), (2, 4))
      Array([[ 0.70710677,  0.70710677,  0.70710677,  0.70710677],
             [ 0.70710677, -0.70710677,  0.70710677, -0.70710677]],      dtype=float32)

    References:
      Zhao, Schaefer, Anandkumar. "ZerO Initialization: Initializing Neural
      Networks with only Zeros and Ones", 2022.
    """
    return ZerO(dtype)
