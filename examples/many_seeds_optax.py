"""Train 64 independently initialized MLPs on digits together, then look at the spread.

The 64 members share one architecture and differ only in the key of their
initialization (``jaxinit.he_normal()`` kernels, zero biases). They are
sampled with ``jaxinit.ensemble.init_many`` and trained by one compiled Optax
step from ``jaxinit.ensemble.make_train_step`` on the same minibatches, so the
spread of the final validation accuracy is the part due to initialization
alone. The script prints summary statistics and saves a histogram.

Run it with ``python examples/many_seeds_optax.py [--steps N] [--out PATH]``.
The environment variable ``JAXINIT_EXAMPLE_STEPS`` sets the default number of
steps (smoke tests use it to shrink the run). Needs scikit-learn for the
digits data and matplotlib for the plot (``pip install 'jaxinit[compare]'``).
"""

import argparse
import os
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxinit
from jaxinit.data import load_dataset
from jaxinit.ensemble import init_many, init_opt_state, make_train_step, member_keys

MEMBERS = 64
BATCH_SIZE = 32
STEPS_PER_CALL = 50


class MLP(nn.Module):
    """64 -> 128 -> 128 -> 10 with ReLU, He-normal kernels and zero biases."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in (128, 128):
            x = nn.relu(nn.Dense(width, kernel_init=jaxinit.he_normal())(x))
        return nn.Dense(10, kernel_init=jaxinit.he_normal())(x)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("JAXINIT_EXAMPLE_STEPS", "450")),
        help="optimizer steps per member (default 450, or $JAXINIT_EXAMPLE_STEPS)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("many_seeds_accuracy.png"),
        help="path of the histogram PNG (default ./many_seeds_accuracy.png)",
    )
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    data = load_dataset("digits")
    model = MLP()

    params = init_many(model.init, member_keys(0, MEMBERS), jnp.zeros((1, data.num_features)))
    optimizer = optax.adam(1e-3)
    opt_state = init_opt_state(optimizer, params)

    def loss_fn(params, batch):
        x, y = batch
        logits = model.apply(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    # Every member trains on the same batches in the same order (batch_axis=None).
    # The training rows are reshuffled each epoch and cut into batches.
    rng = np.random.default_rng(0)
    epochs = arguments.steps * BATCH_SIZE // len(data.y_train) + 1
    rows = np.concatenate([rng.permutation(len(data.y_train)) for _ in range(epochs)])

    # One compiled step per call length: STEPS_PER_CALL, and the remainder.
    steps = {}
    done = 0
    while done < arguments.steps:
        length = min(STEPS_PER_CALL, arguments.steps - done)
        if length not in steps:
            steps[length] = make_train_step(loss_fn, optimizer, steps_per_call=length)
        batch_rows = rows[done * BATCH_SIZE : (done + length) * BATCH_SIZE]
        batch_rows = batch_rows.reshape(length, BATCH_SIZE)
        batch = (data.x_train[batch_rows], data.y_train[batch_rows])
        if length == 1:
            batch = (batch[0][0], batch[1][0])
        params, opt_state, _ = steps[length](params, opt_state, batch)
        done += length

    @jax.jit
    @jax.vmap
    def accuracy(params):
        logits = model.apply(params, data.x_val)
        return jnp.mean(jnp.argmax(logits, axis=-1) == data.y_val)

    accuracies = np.asarray(accuracy(params))
    low, median, high = np.percentile(accuracies, [5, 50, 95])
    print(f"{MEMBERS} members, {arguments.steps} steps of batch {BATCH_SIZE} on digits")
    print(
        f"validation accuracy: mean {accuracies.mean():.4f}, std {accuracies.std(ddof=1):.4f}, "
        f"min {accuracies.min():.4f}, max {accuracies.max():.4f}"
    )
    print(f"5th / 50th / 95th percentile: {low:.4f} / {median:.4f} / {high:.4f}")

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed, so no histogram was written")
        return
    figure = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    axis.hist(accuracies, bins=16)
    axis.set_xlabel("validation accuracy")
    axis.set_ylabel("members")
    axis.set_title(f"{MEMBERS} seeds of one MLP on digits, he_normal kernels")
    figure.savefig(arguments.out, dpi=120)
    print(f"histogram: {arguments.out}")


if __name__ == "__main__":
    main()
