"""Tests for jaxinit.ensemble: member keys, stacked initialization and vmapped training."""

import functools
import logging
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxinit.ensemble import (
    diverged,
    init_many,
    init_many_nnx,
    init_opt_state,
    make_train_step,
    member_keys,
)

NUM_MEMBERS = 7


class MLP(nn.Module):
    """Two-layer MLP, 5 -> 8 -> 3 by default."""

    hidden: int = 8
    out: int = 3

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(self.out)(x)


COUNTED_MLP_CALLS = []


class CountedMLP(MLP):
    """MLP that records each call, so a test can count the traces of model.init."""

    def __call__(self, x):
        COUNTED_MLP_CALLS.append(1)
        return super().__call__(x)


def nnx_mlp(rngs: nnx.Rngs) -> nnx.Module:
    return nnx.Sequential(nnx.Linear(5, 8, rngs=rngs), nnx.relu, nnx.Linear(8, 3, rngs=rngs))


def plain_init(key, shape, scale=1.0, offset=None):
    keys = jax.random.split(key, 5)
    params = {
        "normal": scale * jax.nn.initializers.normal(1.0)(keys[0], shape),
        "glorot": jax.nn.initializers.glorot_uniform()(keys[1], shape),
        "lecun": jax.nn.initializers.lecun_normal()(keys[2], shape),
        "orthogonal": jax.nn.initializers.orthogonal()(keys[3], shape),
    }
    if offset is not None:
        params["shifted"] = jax.random.uniform(keys[4], shape) + offset
    return params


def assert_member_equal(stacked, index, single):
    """Assert that slice ``index`` of every stacked leaf equals ``single`` bit for bit."""
    stacked_leaves, stacked_def = jax.tree.flatten(stacked)
    single_leaves, single_def = jax.tree.flatten(single)
    assert stacked_def == single_def
    for stacked_leaf, single_leaf in zip(stacked_leaves, single_leaves, strict=True):
        assert stacked_leaf.dtype == single_leaf.dtype
        np.testing.assert_array_equal(np.asarray(stacked_leaf)[index], np.asarray(single_leaf))


def key_bits(keys):
    return np.asarray(jax.random.key_data(keys))


# member_keys


def test_member_keys_int_seed_matches_split():
    keys = member_keys(3, 5)
    assert keys.shape == (5,)
    assert jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(key_bits(keys), key_bits(jax.random.split(jax.random.key(3), 5)))


def test_member_keys_key_seeds_match_int_seed():
    expected = key_bits(member_keys(11, 4))
    np.testing.assert_array_equal(key_bits(member_keys(jax.random.key(11), 4)), expected)
    np.testing.assert_array_equal(key_bits(member_keys(jax.random.PRNGKey(11), 4)), expected)
    np.testing.assert_array_equal(key_bits(member_keys(np.int64(11), 4)), expected)
    np.testing.assert_array_equal(key_bits(member_keys(jnp.int32(11), 4)), expected)


def test_member_keys_reproduce_one_member():
    keys = member_keys(5, 6)
    alone = jax.random.split(jax.random.key(5), 6)[4]
    np.testing.assert_array_equal(key_bits(keys[4]), key_bits(alone))


def test_member_keys_prefix_stable_when_growing():
    assert jax.config.jax_threefry_partitionable
    np.testing.assert_array_equal(key_bits(member_keys(2, 3)), key_bits(member_keys(2, 10)[:3]))


@pytest.mark.parametrize(
    ("seed", "n", "error", "message"),
    [
        (0, 0, ValueError, "member_keys expects n to be a positive int, got 0."),
        (0, -2, ValueError, "member_keys expects n to be a positive int, got -2."),
        (
            0,
            2.0,
            TypeError,
            "member_keys expects n to be a positive int, got an object of type float.",
        ),
        (
            0,
            True,
            TypeError,
            "member_keys expects n to be a positive int, got an object of type bool.",
        ),
        (
            "a",
            2,
            TypeError,
            "member_keys expects seed to be an int, an integer scalar array, a typed key of "
            "shape () or a legacy uint32 key of shape (2,), got an object of type str.",
        ),
        (
            True,
            2,
            TypeError,
            "member_keys expects seed to be an int, an integer scalar array, a typed key of "
            "shape () or a legacy uint32 key of shape (2,), got a bool (True).",
        ),
        (
            jax.random.split(jax.random.key(0), 2),
            2,
            ValueError,
            "member_keys expects seed to be an int, an integer scalar array, a typed key of "
            "shape () or a legacy uint32 key of shape (2,), got a typed key array of shape (2,).",
        ),
        (
            np.zeros(3, np.uint32),
            2,
            ValueError,
            "member_keys expects seed to be an int, an integer scalar array, a typed key of "
            "shape () or a legacy uint32 key of shape (2,), got an array of dtype uint32 and "
            "shape (3,).",
        ),
        (
            np.float32(1.0),
            2,
            TypeError,
            "member_keys expects seed to be an int, an integer scalar array, a typed key of "
            "shape () or a legacy uint32 key of shape (2,), got an object of type float32.",
        ),
    ],
)
def test_member_keys_rejects_bad_input(seed, n, error, message):
    with pytest.raises(error, match=re.escape(message)):
        member_keys(seed, n)


# init_many


@pytest.mark.parametrize(
    "chunk_size",
    [
        None,
        3,
        pytest.param(1, marks=pytest.mark.slow),
        pytest.param(NUM_MEMBERS, marks=pytest.mark.slow),
        pytest.param(100, marks=pytest.mark.slow),
    ],
)
def test_init_many_linen_members_bit_equal(chunk_size):
    model = MLP()
    x = jnp.ones((2, 5))
    keys = member_keys(0, NUM_MEMBERS)
    variables = init_many(model.init, keys, x, chunk_size=chunk_size)
    assert variables["params"]["Dense_0"]["kernel"].shape == (NUM_MEMBERS, 5, 8)
    for i in range(NUM_MEMBERS):
        assert_member_equal(variables, i, model.init(keys[i], x))


@pytest.mark.parametrize("chunk_size", [None, 2])
def test_init_many_legacy_keys_bit_equal(chunk_size):
    model = MLP()
    x = jnp.ones((1, 5))
    keys = jax.random.split(jax.random.PRNGKey(4), 5)
    variables = init_many(model.init, keys, x, chunk_size=chunk_size)
    for i in range(5):
        assert_member_equal(variables, i, model.init(keys[i], x))


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_init_many_plain_function_bit_equal(chunk_size):
    keys = member_keys(1, 6)
    offset = jnp.arange(12.0).reshape(4, 3)
    stacked = init_many(plain_init, keys, (4, 3), chunk_size=chunk_size, scale=0.5, offset=offset)
    assert stacked["orthogonal"].shape == (6, 4, 3)
    for i in range(6):
        assert_member_equal(stacked, i, plain_init(keys[i], (4, 3), scale=0.5, offset=offset))


def test_init_many_fused_arithmetic_matches_jit():
    # XLA on CPU fuses scale * x + offset into one FMA in compiled code but not eagerly,
    # so the reference for such an init_fn is the jitted single call.
    def affine_init(key, offset):
        return 0.5 * jax.random.normal(key, (4, 3)) + offset

    keys = member_keys(2, 5)
    offset = jnp.arange(12.0).reshape(4, 3)
    stacked = init_many(affine_init, keys, offset, chunk_size=2)
    for i in range(5):
        assert_member_equal(stacked, i, jax.jit(affine_init)(keys[i], offset))


def test_init_many_automatic_chunks_large_leaf(caplog):
    def init_large(key):
        return {"w": jax.random.normal(key, (2**18,)), "b": jax.random.uniform(key, (3,))}

    keys = member_keys(8, 5)
    with caplog.at_level(logging.DEBUG, logger="jaxinit.ensemble"):
        stacked = init_many(init_large, keys)
    assert "init_many: 5 members in chunks of 2 (largest leaf 262144 elements)." in caplog.text
    for i in range(5):
        assert_member_equal(stacked, i, init_large(keys[i]))


def test_init_many_inside_jit_and_eval_shape():
    def uniform_init(key):
        return {"w": jax.random.uniform(key, (2, 3))}

    keys = member_keys(3, 4)
    expected = init_many(uniform_init, keys, chunk_size=3)
    traced = jax.jit(lambda keys: init_many(uniform_init, keys, chunk_size=3))(keys)
    np.testing.assert_array_equal(np.asarray(traced["w"]), np.asarray(expected["w"]))

    shapes = jax.eval_shape(lambda: init_many(MLP().init, keys, jnp.ones((1, 5))))
    assert shapes["params"]["Dense_1"]["kernel"].shape == (4, 8, 3)


def test_init_many_no_retrace_second_call():
    calls = []

    def counted_init(key, x):
        calls.append(1)
        return {"w": jax.random.normal(key, (3,)) + x}

    keys = member_keys(0, 4)
    init_many(counted_init, keys, jnp.zeros(3))
    traces = len(calls)
    assert traces >= 1
    init_many(counted_init, member_keys(1, 4), jnp.ones(3))
    assert len(calls) == traces


def test_init_many_equal_linen_model_shares_program():
    x = jnp.ones((1, 5))
    init_many(CountedMLP(hidden=6).init, member_keys(0, 3), x, chunk_size=2)
    traces = len(COUNTED_MLP_CALLS)
    assert traces >= 1
    init_many(CountedMLP(hidden=6).init, member_keys(2, 3), x, chunk_size=2)
    assert len(COUNTED_MLP_CALLS) == traces


def test_init_many_static_argument_change_retraces():
    calls = []

    def counted_init(key, scale):
        calls.append(1)
        return jax.random.normal(key, (2,)) * scale

    keys = member_keys(0, 2)
    first = init_many(counted_init, keys, 1.0)
    traces = len(calls)
    second = init_many(counted_init, keys, 2.0)
    assert len(calls) > traces
    np.testing.assert_array_equal(np.asarray(second), 2.0 * np.asarray(first))


def test_init_many_unhashable_callable_works():
    class Unhashable:
        __hash__ = None

        def __call__(self, key):
            return jax.random.normal(key, (2,))

    keys = member_keys(0, 3)
    stacked = init_many(Unhashable(), keys)
    for i in range(3):
        assert_member_equal(stacked, i, Unhashable()(keys[i]))


@pytest.mark.parametrize(
    ("keys", "chunk_size", "error", "message"),
    [
        (
            [1, 2],
            None,
            TypeError,
            "init_many expects keys to be a key array (typed keys of shape (N,) or legacy "
            "uint32 keys of shape (N, 2)), got an object of type list.",
        ),
        (
            np.zeros((3, 2), np.float32),
            None,
            TypeError,
            "init_many expects keys to be typed keys or legacy uint32 keys, got an array of "
            "dtype float32; build them with member_keys(seed, n).",
        ),
        (
            jax.random.split(jax.random.key(0), (2, 2)),
            None,
            ValueError,
            "init_many expects keys of shape (N,) for typed keys or (N, 2) for legacy uint32 "
            "keys, got shape (2, 2); build them with member_keys(seed, n).",
        ),
        (
            jax.random.key(0),
            None,
            ValueError,
            "init_many expects keys of shape (N,) for typed keys or (N, 2) for legacy uint32 "
            "keys, got shape (); build them with member_keys(seed, n).",
        ),
        (
            np.zeros((3,), np.uint32),
            None,
            ValueError,
            "init_many expects keys of shape (N,) for typed keys or (N, 2) for legacy uint32 "
            "keys, got shape (3,); build them with member_keys(seed, n).",
        ),
        (
            np.zeros((0, 2), np.uint32),
            None,
            ValueError,
            "init_many expects at least one key, got keys of shape (0, 2).",
        ),
        (
            None,
            0,
            ValueError,
            "init_many expects chunk_size to be a positive int or None, got 0.",
        ),
        (
            None,
            1.5,
            TypeError,
            "init_many expects chunk_size to be a positive int or None, got an object of type "
            "float.",
        ),
        (
            None,
            True,
            TypeError,
            "init_many expects chunk_size to be a positive int or None, got an object of type "
            "bool.",
        ),
    ],
)
def test_init_many_rejects_bad_input(keys, chunk_size, error, message):
    if keys is None:
        keys = member_keys(0, 2)
    with pytest.raises(error, match=re.escape(message)):
        init_many(lambda key: jax.random.normal(key, (2,)), keys, chunk_size=chunk_size)


def test_init_many_rejects_non_callable():
    message = "init_many expects init_fn to be callable, got an object of type int."
    with pytest.raises(TypeError, match=re.escape(message)):
        init_many(3, member_keys(0, 2))


def test_init_many_rejects_unhashable_argument():
    message = (
        "init_many passes non-array arguments to init_fn as compile-time constants, so they "
        "must be hashable, got an object of type set; pass it as an array or wrap init_fn in "
        "a closure."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        init_many(lambda key, names: jax.random.normal(key, (2,)), member_keys(0, 2), {"a"})


# init_many_nnx


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_init_many_nnx_members_bit_equal(chunk_size):
    keys = member_keys(0, NUM_MEMBERS)
    graphdef, state = init_many_nnx(nnx_mlp, keys, chunk_size=chunk_size)
    for i in range(NUM_MEMBERS):
        assert_member_equal(state, i, nnx.state(nnx_mlp(nnx.Rngs(keys[i]))))


def test_init_many_nnx_legacy_keys_bit_equal():
    keys = jax.random.split(jax.random.PRNGKey(9), 3)
    _, state = init_many_nnx(nnx_mlp, keys)
    for i in range(3):
        assert_member_equal(state, i, nnx.state(nnx_mlp(nnx.Rngs(keys[i]))))


def test_init_many_nnx_merge_one_member():
    keys = member_keys(6, 4)
    graphdef, state = init_many_nnx(nnx_mlp, keys)
    member = nnx.merge(graphdef, jax.tree.map(lambda leaf: leaf[2], state))
    x = jnp.linspace(-1.0, 1.0, 10).reshape(2, 5)
    np.testing.assert_array_equal(np.asarray(member(x)), np.asarray(nnx_mlp(nnx.Rngs(keys[2]))(x)))


def test_init_many_nnx_rejects_bad_input():
    message = "init_many_nnx expects module_factory to be callable, got an object of type str."
    with pytest.raises(TypeError, match=re.escape(message)):
        init_many_nnx("mlp", member_keys(0, 2))
    message = (
        "init_many_nnx expects keys of shape (N,) for typed keys or (N, 2) for legacy uint32 "
        "keys, got shape (); build them with member_keys(seed, n)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        init_many_nnx(nnx_mlp, jax.random.key(0))
    message = "init_many_nnx expects chunk_size to be a positive int or None, got -1."
    with pytest.raises(ValueError, match=re.escape(message)):
        init_many_nnx(nnx_mlp, member_keys(0, 2), chunk_size=-1)


# Training


NUM_TRAINED = 4
OPTIMIZER = optax.adam(0.05)


def mse_loss(params, batch):
    inputs, targets = batch
    return jnp.mean((MLP().apply({"params": params}, inputs) - targets) ** 2)


def make_params(seed=0):
    keys = member_keys(seed, NUM_TRAINED)
    return init_many(MLP().init, keys, jnp.ones((1, 5)))["params"]


def make_batches(num_steps, per_member=False, seed=3):
    """Return NumPy (inputs, targets) of shape (num_steps, [NUM_TRAINED,] 6, features)."""
    leading = (num_steps, NUM_TRAINED) if per_member else (num_steps,)
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((*leading, 6, 5), dtype=np.float32)
    targets = rng.standard_normal((*leading, 6, 3), dtype=np.float32)
    return inputs, targets


@functools.cache
def ensemble_step(steps_per_call, batch_axis):
    """Return the ensemble step for mse_loss and OPTIMIZER, shared by tests to compile once."""
    return make_train_step(
        mse_loss, OPTIMIZER, steps_per_call=steps_per_call, batch_axis=batch_axis
    )


@jax.jit
def single_member_step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(mse_loss)(params, batch)
    updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_alone(params, batches):
    """Train one member with plain Optax and return its final params and per-step losses."""
    opt_state = OPTIMIZER.init(params)
    losses = []
    for batch in batches:
        params, opt_state, loss = single_member_step(params, opt_state, batch)
        losses.append(float(loss))
    return params, np.array(losses)


def member(tree, index):
    """Slice one member out of a stacked tree, in NumPy to avoid compiling a slice per leaf."""
    return jax.tree.map(lambda leaf: np.asarray(leaf)[index], tree)


def member_batches(inputs, targets, index=None):
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if index is None:
        return list(zip(inputs, targets, strict=True))
    return list(zip(inputs[:, index], targets[:, index], strict=True))


def assert_tree_close(actual, expected, rtol=1e-5, atol=1e-6):
    for a, b in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@pytest.mark.parametrize("steps_per_call", [1, 4])
@pytest.mark.parametrize("batch_axis", [None, 0])
def test_train_step_matches_member_alone(steps_per_call, batch_axis):
    num_calls = 2
    params = make_params()
    inputs, targets = make_batches(num_calls * steps_per_call, per_member=batch_axis == 0)

    step = ensemble_step(steps_per_call, batch_axis)
    stacked, opt_state = params, init_opt_state(OPTIMIZER, params)
    history = []
    for call in range(num_calls):
        window = slice(call * steps_per_call, (call + 1) * steps_per_call)
        batch = (inputs[window], targets[window])
        if steps_per_call == 1:
            batch = (batch[0][0], batch[1][0])
        stacked, opt_state, losses = step(stacked, opt_state, batch)
        expected_shape = (NUM_TRAINED,) if steps_per_call == 1 else (NUM_TRAINED, steps_per_call)
        assert losses.shape == expected_shape
        history.append(losses.reshape(NUM_TRAINED, -1))
    history = np.concatenate(history, axis=1)

    for i in range(NUM_TRAINED):
        index = None if batch_axis is None else i
        final, losses = train_alone(member(params, i), member_batches(inputs, targets, index))
        np.testing.assert_allclose(history[i], losses, rtol=1e-5)
        assert_tree_close(member(stacked, i), final)


def test_train_step_no_retrace_second_call():
    calls = []

    def counted_loss(params, batch):
        calls.append(1)
        return jnp.sum((params["w"] - batch) ** 2)

    optimizer = optax.sgd(0.1)
    params = {"w": jnp.zeros((3, 2))}
    step = make_train_step(counted_loss, optimizer)
    opt_state = init_opt_state(optimizer, params)
    params, opt_state, _ = step(params, opt_state, jnp.ones(2))
    traces = len(calls)
    assert traces >= 1
    step(params, opt_state, jnp.full(2, 2.0, dtype=jnp.float32))
    assert len(calls) == traces


def test_train_step_freezes_inf_loss_member():
    params = make_params()
    # Member 1's output bias is 1e20, so its squared error (about 1e40) overflows to inf.
    params["Dense_1"]["bias"] = params["Dense_1"]["bias"].at[1].set(1e20)
    inputs, targets = make_batches(4)
    initial_state = init_opt_state(OPTIMIZER, params)
    final, opt_state, losses = ensemble_step(4, None)(params, initial_state, (inputs, targets))

    assert diverged(losses).tolist() == [False, True, False, False]
    assert np.isposinf(np.asarray(losses[1])).all()
    assert_member_equal(final, 1, member(params, 1))
    assert_member_equal(opt_state, 1, member(initial_state, 1))
    for i in (0, 2, 3):
        expected, expected_losses = train_alone(member(params, i), member_batches(inputs, targets))
        np.testing.assert_allclose(np.asarray(losses[i]), expected_losses, rtol=1e-5)
        assert_tree_close(member(final, i), expected)


def test_train_step_freezes_nan_batch_member():
    params = make_params()
    inputs, targets = make_batches(1, per_member=True)
    inputs = inputs[0].copy()
    inputs[2, 0, 0] = np.nan
    initial_state = init_opt_state(OPTIMIZER, params)
    final, opt_state, losses = ensemble_step(1, 0)(params, initial_state, (inputs, targets[0]))

    assert diverged(losses).tolist() == [False, False, True, False]
    assert np.isnan(np.asarray(losses[2]))
    assert_member_equal(final, 2, member(params, 2))
    assert_member_equal(opt_state, 2, member(initial_state, 2))
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(final))


def test_train_step_rolls_back_mid_call_divergence():
    params = make_params()
    inputs, targets = make_batches(4, per_member=True)
    inputs[2, 1, 0, 0] = np.nan
    initial_state = init_opt_state(OPTIMIZER, params)
    final, opt_state, losses = ensemble_step(4, 0)(params, initial_state, (inputs, targets))

    assert diverged(losses).tolist() == [False, True, False, False]
    assert np.isnan(np.asarray(losses[1, 2:])).all()
    _, expected_losses = train_alone(member(params, 1), member_batches(inputs, targets, 1)[:2])
    np.testing.assert_allclose(np.asarray(losses[1, :2]), expected_losses, rtol=1e-5)
    assert_member_equal(final, 1, member(params, 1))
    assert_member_equal(opt_state, 1, member(initial_state, 1))
    expected, _ = train_alone(member(params, 3), member_batches(inputs, targets, 3))
    assert_tree_close(member(final, 3), expected)


def test_train_step_overflowing_update_reports_nan():
    # With a learning rate of 1e37, member 1's gradient (about 1e2) overflows the update
    # to inf while member 0's gradient (about 1e-3) keeps it finite.
    def loss_fn(params, target):
        return jnp.sum((params["w"] - target) ** 2)

    optimizer = optax.sgd(1e37)
    params = {"w": jnp.zeros((2, 3))}
    targets = jnp.array([[5e-4] * 3, [50.0] * 3])
    step = make_train_step(loss_fn, optimizer, batch_axis=0)
    final, _, losses = step(params, init_opt_state(optimizer, params), targets)

    assert diverged(losses).tolist() == [False, True]
    assert np.isfinite(np.asarray(losses[0]))
    np.testing.assert_array_equal(np.asarray(final["w"][1]), np.zeros(3))
    np.testing.assert_allclose(np.asarray(final["w"][0]), np.full(3, 1e34), rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"steps_per_call": 0},
            ValueError,
            "make_train_step expects steps_per_call to be a positive int, got 0.",
        ),
        (
            {"steps_per_call": "4"},
            TypeError,
            "make_train_step expects steps_per_call to be a positive int, got an object of "
            "type str.",
        ),
        (
            {"batch_axis": -1},
            ValueError,
            "make_train_step expects batch_axis to be None or a non-negative int, got -1.",
        ),
        (
            {"batch_axis": 1.0},
            TypeError,
            "make_train_step expects batch_axis to be None or a non-negative int, got an object "
            "of type float.",
        ),
    ],
)
def test_make_train_step_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_train_step(mse_loss, optax.sgd(0.1), **kwargs)


def test_make_train_step_rejects_bad_callables():
    message = "make_train_step expects loss_fn to be callable, got an object of type NoneType."
    with pytest.raises(TypeError, match=re.escape(message)):
        make_train_step(None, optax.sgd(0.1))
    message = (
        "make_train_step expects optimizer to be an Optax gradient transformation with init "
        "and update methods, got an object of type function."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        make_train_step(mse_loss, optax.sgd)


def test_train_step_rejects_bad_shapes():
    def loss_fn(params, batch):
        return jnp.sum((params["w"] - batch) ** 2)

    optimizer = optax.sgd(0.1)
    params = {"w": jnp.zeros((3, 2))}
    opt_state = init_opt_state(optimizer, params)

    step = make_train_step(loss_fn, optimizer)
    message = (
        "train step expects every leaf of params to have a leading member axis of length 3, "
        "got shape (4, 2) at params['x']."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        step({"w": jnp.zeros((3, 2)), "x": jnp.zeros((4, 2))}, opt_state, jnp.ones(2))

    step4 = make_train_step(loss_fn, optimizer, steps_per_call=4)
    message = (
        "train step with steps_per_call=4 expects every batch leaf to have a leading step "
        "axis of length 4, got shape (3, 2) at batch."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        step4(params, opt_state, jnp.ones((3, 2)))

    per_member = make_train_step(loss_fn, optimizer, batch_axis=0)
    message = (
        "train step with batch_axis=0 expects every batch leaf to have 3 member slices along "
        "axis 0 of each step's batch, got shape (2, 2) at batch."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        per_member(params, opt_state, jnp.ones((2, 2)))

    vector_loss = make_train_step(lambda params, batch: params["w"] - batch, optimizer)
    message = (
        "make_train_step expects loss_fn to return a scalar loss for one member, got shape (2,)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        vector_loss(params, opt_state, jnp.ones(2))


# init_opt_state


def test_init_opt_state_stacks_member_states():
    params = make_params()
    opt_state = init_opt_state(OPTIMIZER, params)
    for i in range(NUM_TRAINED):
        assert_member_equal(opt_state, i, OPTIMIZER.init(member(params, i)))


def test_init_opt_state_rejects_bad_input():
    message = (
        "init_opt_state expects optimizer to be an Optax gradient transformation with init and "
        "update methods, got an object of type str."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        init_opt_state("adam", {"w": jnp.zeros((2, 3))})
    message = "init_opt_state expects params to have at least one array leaf, got none."
    with pytest.raises(ValueError, match=re.escape(message)):
        init_opt_state(optax.sgd(0.1), {})
    message = (
        "init_opt_state expects every leaf of params to have a leading member axis of length "
        "2, got shape (3,) at params['b']."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        init_opt_state(optax.sgd(0.1), {"a": jnp.zeros((2, 3)), "b": jnp.zeros(3)})


# diverged


def test_diverged_per_member_shapes():
    losses = jnp.array([0.1, jnp.nan, jnp.inf, -jnp.inf])
    assert diverged(losses).tolist() == [False, True, True, True]
    history = np.array([[0.5, 0.4, 0.3], [0.5, np.nan, 0.2], [0.5, 0.5, 0.5]])
    assert diverged(history).tolist() == [False, True, False]
    assert diverged([[1.0, 2.0], [float("inf"), 1.0]]).tolist() == [False, True]
    assert diverged(np.array([1, 2])).tolist() == [False, False]


def test_diverged_rejects_bad_input():
    message = "diverged expects losses of shape (N,) or (N, T), got shape (2, 2, 2)."
    with pytest.raises(ValueError, match=re.escape(message)):
        diverged(jnp.zeros((2, 2, 2)))
    message = "diverged expects losses of shape (N,) or (N, T), got shape ()."
    with pytest.raises(ValueError, match=re.escape(message)):
        diverged(1.0)
    message = "diverged expects numeric losses, got an array of dtype <U1."
    with pytest.raises(TypeError, match=re.escape(message)):
        diverged(["a", "b"])
