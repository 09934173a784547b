"""The training loop of a comparison run: loss, evaluation, batch order and chunking.

All members are trained by one compiled step on the same minibatches. The
batch order is a fixed function of the seed and the step count, so a run
resumed from a checkpoint trains on the same batches as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxinit.data import Dataset
from jaxinit.report import _make_reporter, write_atomic

if TYPE_CHECKING:
    from jaxinit.compare import CompareConfig

CHECKPOINT_FORMAT_VERSION = 1

# Maximum steps in one lax.scan dispatch. Longer logging intervals are split.
_MAX_STEPS_PER_CALL = 256


def _make_loss(apply_fn: Callable[..., jax.Array], task: str) -> Callable[..., jax.Array]:
    def loss_fn(variables: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        x, y = batch
        output = apply_fn(variables, x)
        if task == "classification":
            return optax.softmax_cross_entropy_with_integer_labels(output, y).mean()
        return jnp.mean((output[:, 0] - y) ** 2)

    return loss_fn


def _make_evaluate(apply_fn: Callable[..., jax.Array], task: str) -> Callable[..., Any]:
    def metrics(variables: Any, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        output = apply_fn(variables, x)
        if task == "classification":
            loss = optax.softmax_cross_entropy_with_integer_labels(output, y).mean()
            accuracy = jnp.mean(jnp.argmax(output, axis=-1) == y)
            return loss, accuracy
        return jnp.mean((output[:, 0] - y) ** 2), jnp.full((), jnp.nan)

    return jax.jit(jax.vmap(metrics, in_axes=(0, None, None)))


def _chunk_lengths(steps: int, interval: int) -> list[tuple[int, bool]]:
    """Split ``steps`` into scan lengths; the flag marks chunks that end at a log point.

    Each logging interval is split into equal chunks, whose length is the
    largest divisor of the interval up to ``_MAX_STEPS_PER_CALL``. A run thus
    compiles at most three step functions: one for the regular chunk and up to
    two for a shorter final interval.
    """
    plan: list[tuple[int, bool]] = []
    done = 0
    while done < steps:
        interval_length = min(interval, steps - done)
        chunk = max(
            d
            for d in range(1, min(interval_length, _MAX_STEPS_PER_CALL) + 1)
            if interval_length % d == 0
        )
        plan.extend((chunk, False) for _ in range(interval_length // chunk - 1))
        plan.append((chunk, True))
        done += interval_length
    return plan


def _batch_indices(n_train: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Return the training rows of every step, shape ``(steps, batch_size)``."""
    rng = np.random.default_rng([seed, 1])
    needed = steps * batch_size
    epochs = [rng.permutation(n_train) for _ in range(-(-needed // n_train))]
    return np.concatenate(epochs)[:needed].reshape(steps, batch_size).astype(np.int32)


@dataclass
class _TrainState:
    """Training state after a logged step: the members and the curves so far.

    ``params`` and ``opt_state`` are the stacked pytrees of every member.
    The histories have one entry per logged step, each of shape ``(members,)``.
    ``diverged`` marks members whose training loss became NaN or infinite.
    """

    done: int
    params: Any
    opt_state: Any
    logged_steps: list[int]
    train_history: list[np.ndarray]
    val_history: list[np.ndarray]
    accuracy_history: list[np.ndarray]
    diverged: np.ndarray

    def curves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the logged steps, the three metric histories and the final divergence flags.

        A member whose last validation loss is not finite counts as diverged.
        """
        diverged = self.diverged | ~np.isfinite(self.val_history[-1])
        return (
            np.asarray(self.logged_steps),
            np.stack(self.train_history, axis=1),
            np.stack(self.val_history, axis=1),
            np.stack(self.accuracy_history, axis=1),
            diverged,
        )


def _structure_text(params: Any, opt_state: Any) -> str:
    """Describe the pytree structure, leaf shapes and dtypes of a training state."""
    leaves, treedef = jax.tree.flatten((params, opt_state))
    shapes = ";".join(f"{np.shape(leaf)}:{np.asarray(leaf).dtype}" for leaf in leaves)
    return f"{treedef}|{shapes}"


def save_checkpoint(path: str | Path, state: _TrainState) -> Path:
    """Write a training state to an ``.npz`` file atomically and return the path.

    The file stores every leaf of ``(params, opt_state)`` as ``leaf_00000``,
    ``leaf_00001``, ... in `jax.tree.flatten` order, the histories, the step
    reached and a text description of the pytree structure that
    `load_checkpoint` checks. Nothing in it needs pickle.
    """
    path = Path(path)
    leaves = jax.tree.leaves((state.params, state.opt_state))
    arrays = {f"leaf_{index:05d}": np.asarray(leaf) for index, leaf in enumerate(leaves)}
    arrays.update(
        format_version=np.asarray(CHECKPOINT_FORMAT_VERSION),
        structure=np.asarray(_structure_text(state.params, state.opt_state)),
        done=np.asarray(state.done),
        logged_steps=np.asarray(state.logged_steps),
        train_loss=np.stack(state.train_history, axis=1),
        val_loss=np.stack(state.val_history, axis=1),
        val_accuracy=np.stack(state.accuracy_history, axis=1),
        diverged=state.diverged,
    )
    # TODO: a process killed during this write leaves the hidden temporary file
    # (as large as the checkpoint) behind, and no later run removes it.
    write_atomic(path, lambda stream: np.savez(stream, **arrays))
    return path


def load_checkpoint(path: str | Path, params: Any, opt_state: Any) -> _TrainState:
    """Read a checkpoint written by `save_checkpoint` into the structure of a fresh state.

    Args:
        path: the ``.npz`` file.
        params: freshly initialized stacked parameters; only their structure,
            shapes and dtypes are used.
        opt_state: the matching fresh optimizer state.

    Returns:
        The saved training state, with leaves as JAX arrays.

    Raises:
        ValueError: if the file is not a checkpoint of this format or its
            pytree structure, shapes or dtypes differ from the fresh state.
    """
    path = Path(path)
    expected = _structure_text(params, opt_state)
    with np.load(path, allow_pickle=False) as archive:
        version = int(archive["format_version"]) if "format_version" in archive else None
        if version != CHECKPOINT_FORMAT_VERSION:
            raise ValueError(
                f"Checkpoint {str(path)!r} has format version {version!r}; expected "
                f"{CHECKPOINT_FORMAT_VERSION}."
            )
        if str(archive["structure"]) != expected:
            raise ValueError(
                f"Checkpoint {str(path)!r} does not match the parameters and optimizer state "
                f"of the requested run; start a new run in another folder."
            )
        treedef = jax.tree.structure((params, opt_state))
        count = treedef.num_leaves
        leaves = [jnp.asarray(archive[f"leaf_{index:05d}"]) for index in range(count)]
        train_loss = archive["train_loss"]
        val_loss = archive["val_loss"]
        val_accuracy = archive["val_accuracy"]
        state = _TrainState(
            done=int(archive["done"]),
            params=None,
            opt_state=None,
            logged_steps=[int(step) for step in archive["logged_steps"]],
            train_history=list(train_loss.T),
            val_history=list(val_loss.T),
            accuracy_history=list(val_accuracy.T),
            diverged=archive["diverged"].astype(bool),
        )
    state.params, state.opt_state = jax.tree.unflatten(treedef, leaves)
    return state


def _initial_state(
    params: Any, opt_state: Any, evaluate: Callable[..., Any], x_val: Any, y_val: Any
) -> _TrainState:
    members = jax.tree.leaves(params)[0].shape[0]
    val_loss, val_accuracy = evaluate(params, x_val, y_val)
    return _TrainState(
        done=0,
        params=params,
        opt_state=opt_state,
        logged_steps=[0],
        train_history=[np.full(members, np.nan)],
        val_history=[np.asarray(val_loss)],
        accuracy_history=[np.asarray(val_accuracy)],
        diverged=np.zeros(members, dtype=bool),
    )


def _train(
    config: CompareConfig,
    dataset: Dataset,
    ensemble: Any,
    loss_fn: Callable[..., jax.Array],
    optimizer: optax.GradientTransformation,
    evaluate: Callable[..., Any],
    params: Any,
    opt_state: Any,
    progress: bool,
    *,
    start: _TrainState | None = None,
    on_log: Callable[[_TrainState], None] | None = None,
    stop_after_step: int | None = None,
) -> _TrainState:
    """Train every member from ``start`` (or from step 0) to ``config.steps``.

    ``on_log`` is called with the state after each logged step, step 0
    included when not resuming. ``stop_after_step`` raises `KeyboardInterrupt`
    after the logged step that reaches it, as a Ctrl-C would; tests use it to
    interrupt a run at a known point.
    """
    members = jax.tree.leaves(params)[0].shape[0]
    x_val = jnp.asarray(dataset.x_val)
    y_val = jnp.asarray(dataset.y_val)
    rows = _batch_indices(len(dataset.y_train), config.batch_size, config.steps, config.seed)
    step_functions: dict[int, Callable[..., Any]] = {}

    if start is None:
        state = _initial_state(params, opt_state, evaluate, x_val, y_val)
        if on_log is not None:
            on_log(state)
    else:
        state = start
    params, opt_state = state.params, state.opt_state
    diverged = state.diverged.copy()
    window: list[np.ndarray] = []

    reporter = _make_reporter(progress, config.steps, members)
    done = 0
    with reporter:
        for length, log_here in _chunk_lengths(config.steps, config.log_interval):
            # Chunks end at logged steps and a checkpoint is a logged step, so a
            # resumed run skips whole chunks and runs the same chunks as a fresh one.
            if done < state.done:
                done += length
                continue
            if length not in step_functions:
                step_functions[length] = ensemble.make_train_step(
                    loss_fn, optimizer, steps_per_call=length
                )
            batch_rows = rows[done : done + length]
            x = dataset.x_train[batch_rows]
            y = dataset.y_train[batch_rows]
            batch = (x[0], y[0]) if length == 1 else (x, y)
            params, opt_state, losses = step_functions[length](params, opt_state, batch)
            losses = np.asarray(losses).reshape(members, length)
            diverged |= np.asarray(ensemble.diverged(losses))
            window.append(losses)
            done += length
            if not log_here:
                reporter.update(done)
                continue

            val_loss, val_accuracy = evaluate(params, x_val, y_val)
            # A new state in one assignment: a Ctrl-C at any point leaves the
            # previous state whole, and `on_log` may keep a reference to it.
            state = _TrainState(
                done=done,
                params=params,
                opt_state=opt_state,
                logged_steps=[*state.logged_steps, done],
                train_history=[
                    *state.train_history,
                    np.concatenate(window, axis=1).mean(axis=1),
                ],
                val_history=[*state.val_history, np.asarray(val_loss)],
                accuracy_history=[*state.accuracy_history, np.asarray(val_accuracy)],
                diverged=diverged.copy(),
            )
            window = []
            reporter.update(done, state.val_history[-1], state.diverged)
            if on_log is not None:
                on_log(state)
            if stop_after_step is not None and done >= stop_after_step and done < config.steps:
                raise KeyboardInterrupt(f"stopped after step {done} (stop_after_step)")

    return state
