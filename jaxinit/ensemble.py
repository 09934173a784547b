"""Many seeds at once: member keys, stacked initialization and vmapped Optax training.

An ensemble here is N independently initialized copies ("members") of one network whose
variables are stacked on a leading axis of length N:

- `member_keys` derives the N member keys from one seed.
- `init_many` and `init_many_nnx` initialize all members in one compiled program, and
  member ``i`` equals a single initialization with ``keys[i]`` bit for bit.
- `init_opt_state`, `make_train_step` and `diverged` train all members in one compiled
  step with Optax and report the members whose loss became non-finite.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax import lax
from jax.extend import core as jax_extend_core

logger = logging.getLogger(__name__)

PyTree = Any

# On CPU, JAX lowers threefry to a rolled loop over whole arrays, so generating the bits
# of a leaf is bound by memory traffic once the leaf no longer fits in cache. Automatic
# chunking keeps (members per chunk) x (largest leaf) near this many elements (2 MiB of
# float32). On 2 CPU cores, chunks of 1 or 2 members of a 784x512 kernel used about two
# thirds of the CPU time of one vmap over 64 members (benchmarks/README.md).
_CPU_CHUNK_ELEMENTS = 2**19

# XLA compiles for CPU at LLVM optimization level 3 by default. For these random-bit
# bound programs, level 2 made the first call 2 to 7 times faster on 2 CPU cores and
# later calls up to about a third slower (benchmarks/README.md). The first call is
# usually the only one for an initializer.
# TODO: no public option selects the level, so a caller who re-initializes a large model
# many times on CPU cannot trade the faster compile back for the faster run.
_CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 2}


def member_keys(seed: int | jax.Array, n: int) -> jax.Array:
    """Derive the typed keys of ``n`` ensemble members from one seed.

    The keys are ``jax.random.split(jax.random.key(seed), n)`` for an int seed. A key
    passed as ``seed`` (typed, or a legacy uint32 key of shape ``(2,)``) is split the same
    way, so ``member_keys(jax.random.key(s), n)`` equals ``member_keys(s, n)``.

    To reproduce member ``i`` alone, use ``jax.random.split(jax.random.key(seed), n)[i]``.
    With ``jax_threefry_partitionable`` enabled (the default in JAX 0.10.2), key ``i``
    does not depend on ``n``, so growing an ensemble keeps its existing members.

    Args:
      seed: an int (or an integer scalar array) passed to `jax.random.key`, a typed key
        of shape ``()``, or a legacy uint32 key of shape ``(2,)``.
      n: number of members, a positive int.

    Returns:
      A typed key array of shape ``(n,)``.

    Raises:
      TypeError: if ``seed`` is neither an int, an integer scalar array nor a key, or
        ``n`` is not an int.
      ValueError: if ``n`` is not positive or ``seed`` is a key of the wrong shape.

    Example:
      >>> keys = member_keys(0, 4)
      >>> keys.shape
      (4,)
      >>> bool((jax.random.key_data(keys[2]) ==
      ...       jax.random.key_data(jax.random.split(jax.random.key(0), 4)[2])).all())
      True
    """
    _check_positive_int("member_keys", "n", n)
    return jax.random.split(_root_key(seed), n)


def init_many(
    init_fn: Callable[..., PyTree],
    keys: jax.Array,
    *args: Any,
    chunk_size: int | None = None,
    **kwargs: Any,
) -> PyTree:
    """Initialize N networks in one compiled program and stack their variables on axis 0.

    Member ``i`` of the result equals ``init_fn(keys[i], *args, **kwargs)`` bit for bit.
    ``args`` and ``kwargs`` are shared by every member, for example the sample input of
    a Flax ``model.init``. Their array leaves are passed to the compiled program. Every
    other leaf (Python numbers, strings, flags) becomes a compile-time constant, so
    ``init_fn`` receives the same Python value as in a single eager call.

    Bit equality with the eager call holds when ``init_fn`` computes the same bits
    compiled and eager, as the samplers of `jax.random`, `jax.nn.initializers` and the
    Flax linen and NNX layers do. XLA on CPU fuses a multiply followed by an add into
    one fused multiply-add in compiled code, so an ``init_fn`` that computes
    ``scale * x + shift`` itself can differ from its eager call in the last bit, exactly
    as ``jax.jit(init_fn)`` does.

    Members are initialized in chunks of ``chunk_size`` members, each chunk one
    ``jax.vmap`` over its keys, written in place into the stacked result. When ``N`` is
    not a multiple of ``chunk_size``, the last chunk overlaps the one before it and
    recomputes those members with the same keys, which gives the same values. Chunking
    bounds the intermediate arrays to one chunk's worth of memory, while the stacked
    result always contains all N members.

    With ``chunk_size=None`` the chunk size is chosen automatically. On CPU, chunks hold
    about 2**19 elements of the largest leaf, because JAX's CPU threefry is bound by
    memory traffic on large arrays (one member per chunk for a 784x512 kernel, all
    members at once for small networks). On other backends all members form one chunk.
    On CPU the program is also compiled at LLVM optimization level 2 instead of XLA's
    default 3, which made the first call 2 to 7 times faster and later calls up to about
    a third slower in the measurements of benchmarks/README.md.

    Caching: the compiled program is cached on ``init_fn``, ``chunk_size``, the shapes
    and dtypes of ``keys`` and of the array arguments, and the values of the other
    arguments, so a second call with the same inputs does not compile again.
    ``init_fn`` is compared by ``==`` and ``hash`` like a static argument of `jax.jit`.
    A bound method such as ``model.init`` is compared through its object, so an equal
    Flax linen module built again reuses the program. A new lambda or
    `functools.partial` on each call compiles each time, and an unhashable callable is
    compiled on every call.

    Args:
      init_fn: called as ``init_fn(key, *args, **kwargs)`` for one member; returns a
        pytree of arrays.
      keys: typed keys of shape ``(N,)`` or legacy uint32 keys of shape ``(N, 2)``, with
        ``N >= 1``, for example from `member_keys`.
      *args: positional arguments shared by every member.
      chunk_size: members initialized together, a positive int (values above N mean N),
        or None to choose automatically.
      **kwargs: keyword arguments shared by every member.

    Returns:
      The pytree returned by ``init_fn`` with a leading axis of length N on every leaf.

    Raises:
      TypeError: if ``init_fn`` is not callable, ``keys`` is not a key array,
        ``chunk_size`` is not an int, or a non-array argument is not hashable.
      ValueError: if ``keys`` has the wrong shape or no members, or ``chunk_size`` is
        not positive.

    Example:
      >>> import flax.linen as nn
      >>> model = nn.Dense(3)
      >>> variables = init_many(model.init, member_keys(0, 5), jnp.ones((1, 2)))
      >>> variables["params"]["kernel"].shape
      (5, 2, 3)
    """
    if not callable(init_fn):
        raise TypeError(
            f"init_many expects init_fn to be callable, got an object of type "
            f"{type(init_fn).__name__}."
        )
    _check_keys("init_many", keys)
    _check_chunk_size("init_many", chunk_size)
    dynamic_leaves, spec = _split_arguments(args, kwargs)

    compiler_options = _cpu_compiler_options()
    cache_key = _cache_key(init_fn)
    if cache_key is None:
        uncached = jax.jit(
            functools.partial(_init_stacked, init_fn),
            static_argnums=(0, 1),
            compiler_options=compiler_options,
        )
        return uncached(spec, chunk_size, keys, dynamic_leaves)
    cached = _init_stacked_cpu_jit if compiler_options else _init_stacked_jit
    return cached(cache_key, spec, chunk_size, keys, dynamic_leaves)


def init_many_nnx(
    module_factory: Callable[[nnx.Rngs], nnx.Module],
    keys: jax.Array,
    *,
    chunk_size: int | None = None,
) -> tuple[nnx.GraphDef, nnx.State]:
    """Build N Flax NNX modules in one compiled program and stack their states on axis 0.

    Member ``i`` of the state equals ``nnx.state(module_factory(nnx.Rngs(keys[i])))``
    bit for bit. Chunking and caching follow `init_many`, with ``module_factory`` in the
    place of ``init_fn``. To get member ``i`` back as a module, merge one slice:
    ``nnx.merge(graphdef, jax.tree.map(lambda x: x[i], state))``.

    Args:
      module_factory: called as ``module_factory(rngs)`` with an `nnx.Rngs` built from one
        member's key; returns the module.
      keys: typed keys of shape ``(N,)`` or legacy uint32 keys of shape ``(N, 2)``.
      chunk_size: members built together, a positive int, or None to choose
        automatically as in `init_many`.

    Returns:
      ``(graphdef, state)``: the graph definition shared by all members, and their
      `nnx.State` with a leading axis of length N on every leaf.

    Raises:
      TypeError: if ``module_factory`` is not callable, ``keys`` is not a key array or
        ``chunk_size`` is not an int.
      ValueError: if ``keys`` has the wrong shape or no members, or ``chunk_size`` is
        not positive.

    Example:
      >>> graphdef, state = init_many_nnx(
      ...     lambda rngs: nnx.Linear(2, 3, rngs=rngs), member_keys(0, 4))
      >>> state["kernel"][...].shape
      (4, 2, 3)
    """
    if not callable(module_factory):
        raise TypeError(
            f"init_many_nnx expects module_factory to be callable, got an object of type "
            f"{type(module_factory).__name__}."
        )
    _check_keys("init_many_nnx", keys)
    _check_chunk_size("init_many_nnx", chunk_size)
    return init_many(_NnxSplit(module_factory), keys, chunk_size=chunk_size)


def init_opt_state(optimizer: optax.GradientTransformation, params: PyTree) -> PyTree:
    """Initialize the Optax state of every member: ``optimizer.init`` vmapped over axis 0.

    Every leaf of the result, counters included, has a leading axis of length N, which
    is the layout that the step from `make_train_step` expects.

    Args:
      optimizer: an Optax gradient transformation.
      params: stacked parameters, every leaf with the same leading axis N >= 1.

    Returns:
      The stacked optimizer state.

    Raises:
      TypeError: if ``optimizer`` has no ``init`` and ``update`` methods.
      ValueError: if ``params`` has no leaves or its leading axes differ.

    Example:
      >>> opt_state = init_opt_state(optax.adam(1e-3), {"w": jnp.zeros((4, 3))})
      >>> opt_state[0].mu["w"].shape
      (4, 3)
    """
    _check_optimizer("init_opt_state", optimizer)
    _stacked_size("init_opt_state", "params", params)
    return _vmapped_opt_init(optimizer.init, params)


def make_train_step(
    loss_fn: Callable[[PyTree, PyTree], jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    steps_per_call: int = 1,
    batch_axis: int | None = None,
) -> Callable[[PyTree, PyTree, PyTree], tuple[PyTree, PyTree, jax.Array]]:
    """Build a jitted Optax step that trains all N members of an ensemble at once.

    The step is ``step(params, opt_state, batch) -> (params, opt_state, losses)``. Every
    leaf of ``params`` and ``opt_state`` (from `init_opt_state`) has a leading axis of
    length N. For each member and each step the update is::

        loss, grads = value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)

    and ``losses`` contains the loss before each update (see Divergence for rejected
    steps). An optimizer that accepts extra arguments
    (`optax.GradientTransformationExtraArgs`) also receives ``value=loss``.

    Batches: with ``batch_axis=None`` every member receives the same batch, which isolates
    the effect of the initialization. With an int ``batch_axis`` each batch leaf contains
    one slice per member along that axis (size N). With ``steps_per_call=k > 1`` every
    batch leaf carries a leading axis of length k in front of that layout, the k batches
    are consumed in order by `jax.lax.scan` inside one dispatch, and ``losses`` has shape
    ``(N, k)``; with ``k == 1`` it has shape ``(N,)``.

    Divergence is checked once per call, after the last step. A member whose losses in
    the call, or whose parameters or optimizer state after the call, contain a NaN or
    inf is returned with the parameters and optimizer state it had before the call (a
    `jnp.where` on every leaf), so NaN and inf never enter the returned state. Its losses
    are reported as computed, which makes them non-finite from the step that diverged
    on. When all of them are finite (the last update overflowed), the last one is
    reported as NaN, so `diverged` flags every member that was rolled back. With a
    shared, fixed batch a rolled-back member diverges again on every call, so it stays
    frozen. With changing batches it may resume, so call `diverged` on the whole loss
    history to find every member that ever diverged. Checking once per call, not after
    every step, keeps the cost of the check (a few passes over the parameters and
    optimizer state) out of the inner loop of ``steps_per_call`` steps.

    Args:
      loss_fn: ``loss_fn(params, batch)`` for one member, returning a scalar.
      optimizer: an Optax gradient transformation, shared by all members.
      steps_per_call: optimizer steps per call, a positive int.
      batch_axis: None to share each batch, or the non-negative axis of each step's
        batch leaves that indexes members.

    Returns:
      The jitted step function.

    Raises:
      TypeError: if ``loss_fn`` is not callable, ``optimizer`` has no ``init`` and
        ``update`` methods, or ``steps_per_call`` or ``batch_axis`` is not an int.
      ValueError: if ``steps_per_call`` is not positive or ``batch_axis`` is negative.
        The step raises ValueError on its first call for a shape that does not fit:
        leading axes that differ between leaves, a batch whose step or member axis has
        the wrong length, or a loss that is not a scalar.

    Example:
      >>> step = make_train_step(lambda p, b: jnp.sum((p["w"] - b) ** 2), optax.sgd(0.1))
      >>> params = {"w": jnp.zeros((4, 3))}
      >>> params, opt_state, losses = step(params, init_opt_state(optax.sgd(0.1), params),
      ...                                  jnp.ones(3))
      >>> losses.shape
      (4,)
    """
    if not callable(loss_fn):
        raise TypeError(
            f"make_train_step expects loss_fn to be callable, got an object of type "
            f"{type(loss_fn).__name__}."
        )
    _check_optimizer("make_train_step", optimizer)
    _check_positive_int("make_train_step", "steps_per_call", steps_per_call)
    _check_batch_axis(batch_axis)
    pass_value = isinstance(optimizer, optax.GradientTransformationExtraArgs)

    def scalar_loss(params, batch):
        loss = loss_fn(params, batch)
        if jnp.shape(loss) != ():
            raise ValueError(
                f"make_train_step expects loss_fn to return a scalar loss for one member, "
                f"got shape {jnp.shape(loss)}."
            )
        return loss

    def member_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(scalar_loss)(params, batch)
        if pass_value:
            updates, opt_state = optimizer.update(grads, opt_state, params, value=loss)
        else:
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    ensemble_step = jax.vmap(member_step, in_axes=(0, 0, batch_axis))

    def step(params, opt_state, batch):
        num_members = _stacked_size("train step", "params", params)
        _check_leading_axis(opt_state, "opt_state", num_members)
        _check_batch(batch, num_members, steps_per_call, batch_axis)

        if steps_per_call == 1:
            new_params, new_opt_state, losses = ensemble_step(params, opt_state, batch)
            losses = losses[:, None]
        else:

            def scan_body(carry, step_batch):
                params, opt_state, losses = ensemble_step(*carry, step_batch)
                return (params, opt_state), losses

            carry = (params, opt_state)
            (new_params, new_opt_state), losses = lax.scan(scan_body, carry, batch)
            losses = losses.T

        finite = jax.vmap(_all_finite)((losses, new_params, new_opt_state))
        params = jax.vmap(_select)(finite, new_params, params)
        opt_state = jax.vmap(_select)(finite, new_opt_state, opt_state)

        overflowed = ~finite & jnp.all(jnp.isfinite(losses), axis=1)
        losses = losses.at[:, -1].set(jnp.where(overflowed, jnp.nan, losses[:, -1]))
        if steps_per_call == 1:
            losses = losses[:, 0]
        return params, opt_state, losses

    return jax.jit(step)


def diverged(losses: jax.Array) -> jax.Array:
    """Return, per member, whether any reported loss is non-finite (NaN or inf).

    Args:
      losses: per-member losses of shape ``(N,)``, or ``(N, T)`` for several steps, such
        as the ``(N, k)`` losses of one call of a `make_train_step` step or a whole
        history concatenated along axis 1.

    Returns:
      A bool array of shape ``(N,)``.

    Raises:
      TypeError: if ``losses`` is not numeric.
      ValueError: if ``losses`` is not one- or two-dimensional.

    Example:
      >>> diverged(jnp.array([[0.5, 0.4], [0.5, jnp.nan], [jnp.inf, 0.1]])).tolist()
      [False, True, True]
    """
    if not isinstance(losses, jax.Array):
        losses = np.asarray(losses)
    if losses.dtype.kind not in "biufc":
        raise TypeError(f"diverged expects numeric losses, got an array of dtype {losses.dtype}.")
    if losses.ndim not in (1, 2):
        raise ValueError(
            f"diverged expects losses of shape (N,) or (N, T), got shape {losses.shape}."
        )

    non_finite = ~jnp.isfinite(losses)
    if non_finite.ndim == 2:
        return jnp.any(non_finite, axis=1)
    return non_finite


@dataclasses.dataclass(frozen=True)
class _ArgumentSpec:
    """Static part of init_many's shared arguments: tree structure and non-array leaves."""

    treedef: Any
    static_leaves: tuple[tuple[int, type, Any], ...]
    num_leaves: int

    def rebuild(self, dynamic_leaves: tuple) -> tuple[tuple, dict]:
        leaves = [None] * self.num_leaves
        for position, _, value in self.static_leaves:
            leaves[position] = value
        dynamic = iter(dynamic_leaves)
        static_positions = {position for position, _, _ in self.static_leaves}
        for position in range(self.num_leaves):
            if position not in static_positions:
                leaves[position] = next(dynamic)
        return jax.tree.unflatten(self.treedef, leaves)


@dataclasses.dataclass(frozen=True)
class _BoundMethod:
    """Cache key for ``owner.method`` that compares the owner by ``==``, not identity."""

    function: Callable
    owner: Any

    def __call__(self, *args, **kwargs):
        return self.function(self.owner, *args, **kwargs)


@dataclasses.dataclass(frozen=True)
class _NnxSplit:
    """Per-member init function for init_many_nnx: build the module, return nnx.split."""

    module_factory: Callable[[nnx.Rngs], nnx.Module]

    def __call__(self, key):
        return nnx.split(self.module_factory(nnx.Rngs(key)))


def _init_stacked(init_fn, spec, chunk_size, keys, dynamic_leaves):
    def init_one(key):
        args, kwargs = spec.rebuild(dynamic_leaves)
        return init_fn(key, *args, **kwargs)

    num_members = keys.shape[0]
    chunk = _resolve_chunk_size(init_one, keys, chunk_size)
    if chunk >= num_members:
        return jax.vmap(init_one)(keys)

    init_chunk = jax.vmap(init_one)
    shapes = jax.eval_shape(init_chunk, keys[:chunk])
    stacked = jax.tree.map(lambda s: jnp.zeros((num_members, *s.shape[1:]), s.dtype), shapes)

    def write_chunk(index, stacked):
        start = jnp.minimum(index * chunk, num_members - chunk)
        values = init_chunk(lax.dynamic_slice_in_dim(keys, start, chunk))
        return jax.tree.map(
            lambda out, value: lax.dynamic_update_slice_in_dim(out, value, start, 0),
            stacked,
            values,
        )

    num_chunks = -(-num_members // chunk)
    return lax.fori_loop(0, num_chunks, write_chunk, stacked)


_init_stacked_jit = jax.jit(_init_stacked, static_argnums=(0, 1, 2))
_init_stacked_cpu_jit = jax.jit(
    _init_stacked, static_argnums=(0, 1, 2), compiler_options=_CPU_COMPILER_OPTIONS
)


def _resolve_chunk_size(init_one, keys, chunk_size):
    num_members = keys.shape[0]
    if chunk_size is not None:
        return min(chunk_size, num_members)
    if jax.default_backend() != "cpu":
        # NOTE: one vmap over all members has not been measured on GPU or TPU.
        return num_members

    shapes = jax.eval_shape(init_one, keys[0])
    largest_leaf = max((leaf.size for leaf in jax.tree.leaves(shapes)), default=1)
    chunk = max(1, _CPU_CHUNK_ELEMENTS // max(largest_leaf, 1))
    num_chunks = -(-num_members // chunk)
    chunk = -(-num_members // num_chunks)
    logger.debug(
        "init_many: %d members in chunks of %d (largest leaf %d elements).",
        num_members,
        chunk,
        largest_leaf,
    )
    return chunk


def _cpu_compiler_options():
    if jax.default_backend() != "cpu":
        return None

    # jax.jit rejects compiler options on a jit nested in another trace (jit, eval_shape,
    # grad), where the outer program's options apply anyway.
    # NOTE: JAX exports no trace class to compare with, so this matches the class name of
    # its eager trace. If that name changes, init_many only loses the faster compile.
    with jax_extend_core.take_current_trace() as trace:
        if type(trace).__name__ != "EvalTrace":
            return None
    return _CPU_COMPILER_OPTIONS


def _opt_init_members(init, params):
    return jax.vmap(init)(params)


_vmapped_opt_init = jax.jit(_opt_init_members, static_argnums=0)


def _split_arguments(args, kwargs):
    leaves, treedef = jax.tree.flatten((args, kwargs))
    dynamic_leaves = []
    static_leaves = []
    for position, leaf in enumerate(leaves):
        if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
            dynamic_leaves.append(leaf)
            continue
        if not _is_hashable(leaf):
            raise TypeError(
                f"init_many passes non-array arguments to init_fn as compile-time "
                f"constants, so they must be hashable, got an object of type "
                f"{type(leaf).__name__}; pass it as an array or wrap init_fn in a closure."
            )
        static_leaves.append((position, type(leaf), leaf))
    spec = _ArgumentSpec(treedef, tuple(static_leaves), len(leaves))
    return tuple(dynamic_leaves), spec


def _cache_key(init_fn):
    if inspect.ismethod(init_fn) and _is_hashable(init_fn.__self__):
        return _BoundMethod(init_fn.__func__, init_fn.__self__)
    if _is_hashable(init_fn):
        return init_fn
    return None


def _is_hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _root_key(seed):
    if isinstance(seed, bool):
        raise TypeError(_seed_message(f"a bool ({seed})"))
    if isinstance(seed, (int, np.integer)):
        return jax.random.key(int(seed))
    if not isinstance(seed, (jax.Array, np.ndarray)):
        raise TypeError(_seed_message(f"an object of type {type(seed).__name__}"))

    if jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
        if seed.shape != ():
            raise ValueError(_seed_message(f"a typed key array of shape {seed.shape}"))
        return seed
    if seed.dtype == np.uint32 and seed.shape == (2,):
        return jax.random.wrap_key_data(seed)
    if seed.dtype.kind in "iu" and seed.shape == ():
        return jax.random.key(seed)
    raise ValueError(_seed_message(f"an array of dtype {seed.dtype} and shape {seed.shape}"))


def _seed_message(received: str) -> str:
    return (
        "member_keys expects seed to be an int, an integer scalar array, a typed key of "
        f"shape () or a legacy uint32 key of shape (2,), got {received}."
    )


def _check_keys(function: str, keys) -> None:
    if not isinstance(keys, (jax.Array, np.ndarray)):
        raise TypeError(
            f"{function} expects keys to be a key array (typed keys of shape (N,) or "
            f"legacy uint32 keys of shape (N, 2)), got an object of type "
            f"{type(keys).__name__}."
        )
    if jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key):
        valid_shape = keys.ndim == 1
    elif keys.dtype == np.uint32:
        valid_shape = keys.ndim == 2 and keys.shape[1] == 2
    else:
        raise TypeError(
            f"{function} expects keys to be typed keys or legacy uint32 keys, got an "
            f"array of dtype {keys.dtype}; build them with member_keys(seed, n)."
        )
    if not valid_shape:
        raise ValueError(
            f"{function} expects keys of shape (N,) for typed keys or (N, 2) for legacy "
            f"uint32 keys, got shape {keys.shape}; build them with member_keys(seed, n)."
        )
    if keys.shape[0] == 0:
        raise ValueError(f"{function} expects at least one key, got keys of shape {keys.shape}.")


def _check_positive_int(function: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{function} expects {name} to be a positive int, got an object of type "
            f"{type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"{function} expects {name} to be a positive int, got {value}.")


def _check_chunk_size(function: str, chunk_size) -> None:
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(
            f"{function} expects chunk_size to be a positive int or None, got an object of "
            f"type {type(chunk_size).__name__}."
        )
    if chunk_size < 1:
        raise ValueError(
            f"{function} expects chunk_size to be a positive int or None, got {chunk_size}."
        )


def _check_batch_axis(batch_axis) -> None:
    if batch_axis is None:
        return
    if isinstance(batch_axis, bool) or not isinstance(batch_axis, (int, np.integer)):
        raise TypeError(
            f"make_train_step expects batch_axis to be None or a non-negative int, got an "
            f"object of type {type(batch_axis).__name__}."
        )
    if batch_axis < 0:
        raise ValueError(
            f"make_train_step expects batch_axis to be None or a non-negative int, got "
            f"{batch_axis}."
        )


def _check_optimizer(function: str, optimizer) -> None:
    if not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise TypeError(
            f"{function} expects optimizer to be an Optax gradient transformation with "
            f"init and update methods, got an object of type {type(optimizer).__name__}."
        )


def _stacked_size(function: str, name: str, tree) -> int:
    leaves = jax.tree.leaves(tree)
    if not leaves:
        raise ValueError(f"{function} expects {name} to have at least one array leaf, got none.")
    first = jnp.shape(leaves[0])
    if len(first) == 0 or first[0] == 0:
        raise ValueError(
            f"{function} expects every leaf of {name} to have a leading member axis of "
            f"length N >= 1, got a leaf of shape {first}."
        )
    _check_leading_axis(tree, name, first[0], function)
    return first[0]


def _check_leading_axis(tree, name: str, num_members: int, function: str = "train step") -> None:
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        shape = jnp.shape(leaf)
        if len(shape) == 0 or shape[0] != num_members:
            raise ValueError(
                f"{function} expects every leaf of {name} to have a leading member axis of "
                f"length {num_members}, got shape {shape} at {name}{jax.tree_util.keystr(path)}."
            )


def _check_batch(batch, num_members: int, steps_per_call: int, batch_axis) -> None:
    leaves = jax.tree_util.tree_leaves_with_path(batch)
    if steps_per_call > 1 and not leaves:
        raise ValueError(
            f"train step with steps_per_call={steps_per_call} expects batch to have at least "
            f"one array leaf with a leading step axis, got none."
        )
    for path, leaf in leaves:
        shape = jnp.shape(leaf)
        where = f"batch{jax.tree_util.keystr(path)}"
        if steps_per_call > 1:
            if len(shape) == 0 or shape[0] != steps_per_call:
                raise ValueError(
                    f"train step with steps_per_call={steps_per_call} expects every batch "
                    f"leaf to have a leading step axis of length {steps_per_call}, got shape "
                    f"{shape} at {where}."
                )
            shape = shape[1:]
        if batch_axis is not None and (
            len(shape) <= batch_axis or shape[batch_axis] != num_members
        ):
            raise ValueError(
                f"train step with batch_axis={batch_axis} expects every batch leaf to have "
                f"{num_members} member slices along axis {batch_axis} of each step's batch, "
                f"got shape {shape} at {where}."
            )


def _all_finite(tree) -> jax.Array:
    finite = jnp.bool_(True)
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            finite = finite & jnp.all(jnp.isfinite(leaf))
    return finite


def _select(condition, on_true, on_false):
    return jax.tree.map(lambda new, old: jnp.where(condition, new, old), on_true, on_false)
