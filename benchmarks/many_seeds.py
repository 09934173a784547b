"""Benchmark many seeds at once: jaxinit.ensemble against Python loops over members.

Initialization: `init_many(model.init, keys, x)` against a Python loop of a jitted
``model.init`` (one dispatch per member), and against a plain
``jax.jit(jax.vmap(model.init))``, for MLPs 64-64-10 and 784-512-512-10.

Training: one step from `make_train_step` (all members, several steps per dispatch)
against training the members one after another with a jitted single-member step (one
dispatch per step), for MLPs 64-128-128-10 and 784-256-10 with Adam and a shared batch
of random data.

Usage:
  python benchmarks/many_seeds.py [--quick] [--json PATH]

Prints a table of median times, ratios against the loop (above 1 means faster than the
loop) and compile times, checks the goals below, and writes everything as JSON
(default benchmarks/results/many_seeds.json). ``--quick`` runs a subset in under a
minute so CI can smoke-test the script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxinit.ensemble import init_many, init_opt_state, make_train_step, member_keys  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "many_seeds.json"
BATCH_SIZE = 128
NUM_CLASSES = 10


class MLP(nn.Module):
    """ReLU MLP; ``features`` lists the output width of every Dense layer."""

    features: tuple[int, ...]

    @nn.compact
    def __call__(self, x):
        for width in self.features[:-1]:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.features[-1])(x)


def block(tree):
    return jax.block_until_ready(tree)


def time_first_and_median(run, repeats):
    """Return (seconds of the first call, median seconds of ``repeats`` later calls)."""
    start = time.perf_counter()
    block(run())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        block(run())
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def bench_init(in_features, features, num_members, repeats, with_plain_vmap):
    model = MLP(features)
    x = jnp.ones((1, in_features))
    keys = member_keys(0, num_members)

    single = jax.jit(model.init)
    key_list = [keys[i] for i in range(num_members)]
    loop_first, loop_median = time_first_and_median(
        lambda: [single(key, x) for key in key_list], repeats
    )
    # The loop's first call compiles the single-member program once, then runs N members.
    loop_compile = max(loop_first - loop_median, 0.0)

    many_first, many_median = time_first_and_median(lambda: init_many(model.init, keys, x), repeats)
    row = {
        "model": "-".join(str(n) for n in (in_features, *features)),
        "members": num_members,
        "loop_s": loop_median,
        "init_many_s": many_median,
        "init_many_ratio": loop_median / many_median,
        "loop_compile_s": loop_compile,
        "init_many_compile_s": max(many_first - many_median, 0.0),
    }
    if with_plain_vmap:
        plain = jax.jit(jax.vmap(model.init, in_axes=(0, None)))
        plain_first, plain_median = time_first_and_median(lambda: plain(keys, x), repeats)
        row["plain_vmap_s"] = plain_median
        row["plain_vmap_ratio"] = loop_median / plain_median
        row["plain_vmap_compile_s"] = max(plain_first - plain_median, 0.0)
    return row


def cross_entropy(model):
    def loss_fn(params, batch):
        inputs, labels = batch
        logits = model.apply({"params": params}, inputs)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    return loss_fn


def bench_train(in_features, features, num_members, steps, repeats):
    model = MLP(features)
    loss_fn = cross_entropy(model)
    optimizer = optax.adam(1e-3)
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((steps, BATCH_SIZE, in_features), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, (steps, BATCH_SIZE)).astype(np.int32)
    batches = (jnp.asarray(inputs), jnp.asarray(labels))

    params = init_many(model.init, member_keys(0, num_members), jnp.ones((1, in_features)))[
        "params"
    ]
    opt_state = init_opt_state(optimizer, params)
    ensemble_step = make_train_step(loss_fn, optimizer, steps_per_call=steps)
    many_first, many_median = time_first_and_median(
        lambda: ensemble_step(params, opt_state, batches), repeats
    )

    @jax.jit
    def single_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    host_params = jax.tree.map(np.asarray, params)
    members = [
        jax.device_put(jax.tree.map(lambda leaf, i=i: leaf[i], host_params))
        for i in range(num_members)
    ]
    member_states = [optimizer.init(p) for p in members]
    step_batches = [(jnp.asarray(inputs[s]), jnp.asarray(labels[s])) for s in range(steps)]

    def train_loop():
        results = []
        for p, s in zip(members, member_states, strict=True):
            for batch in step_batches:
                p, s, _ = single_step(p, s, batch)
            results.append(p)
        return results

    loop_first, loop_median = time_first_and_median(train_loop, repeats)
    member_steps = num_members * steps
    return {
        "model": "-".join(str(n) for n in (in_features, *features)),
        "members": num_members,
        "steps_per_call": steps,
        "loop_member_steps_per_s": member_steps / loop_median,
        "ensemble_member_steps_per_s": member_steps / many_median,
        "ensemble_ratio": loop_median / many_median,
        "loop_compile_s": max(loop_first - loop_median, 0.0),
        "ensemble_compile_s": max(many_first - many_median, 0.0),
    }


def check_goals(init_rows, train_rows):
    goals = []
    worst = min(init_rows, key=lambda row: row["init_many_ratio"])
    goals.append(
        {
            "goal": "init_many no slower than the loop at any N",
            "target": ">= 1.0x",
            "measured": f"{worst['init_many_ratio']:.2f}x (worst: {worst['model']}, N={worst['members']})",
            "met": worst["init_many_ratio"] >= 1.0,
        }
    )
    for row in init_rows:
        if row["model"] == "64-64-10" and row["members"] == 256:
            goals.append(
                {
                    "goal": "init_many for 256 members of 64-64-10",
                    "target": ">= 5x the loop",
                    "measured": f"{row['init_many_ratio']:.2f}x",
                    "met": row["init_many_ratio"] >= 5.0,
                }
            )
        if row["members"] == 256:
            goals.append(
                {
                    "goal": f"first compile of init_many for 256 members of {row['model']}",
                    "target": "<= 2 s",
                    "measured": f"{row['init_many_compile_s']:.2f} s",
                    "met": row["init_many_compile_s"] <= 2.0,
                }
            )
    for row in train_rows:
        if row["members"] == 32:
            goals.append(
                {
                    "goal": f"training 32 members of {row['model']}",
                    "target": ">= 3x the loop's member-steps/s",
                    "measured": f"{row['ensemble_ratio']:.2f}x",
                    "met": row["ensemble_ratio"] >= 3.0,
                }
            )
    return goals


def print_tables(init_rows, train_rows, goals):
    print("\nInitialization (median seconds; ratio = loop time / time, above 1 is faster)")
    header = f"{'model':>16} {'N':>4} {'loop':>9} {'init_many':>10} {'ratio':>6} {'compile':>8}"
    header += f" {'plain vmap':>11} {'ratio':>6} {'compile':>8} {'loop compile':>13}"
    print(header)
    for row in init_rows:
        line = (
            f"{row['model']:>16} {row['members']:>4} {row['loop_s']:>9.4f} "
            f"{row['init_many_s']:>10.4f} {row['init_many_ratio']:>6.2f} "
            f"{row['init_many_compile_s']:>8.2f}"
        )
        if "plain_vmap_s" in row:
            line += (
                f" {row['plain_vmap_s']:>11.4f} {row['plain_vmap_ratio']:>6.2f} "
                f"{row['plain_vmap_compile_s']:>8.2f}"
            )
        else:
            line += f" {'-':>11} {'-':>6} {'-':>8}"
        line += f" {row['loop_compile_s']:>13.2f}"
        print(line)

    print("\nTraining (member-steps per second; ratio = ensemble / loop)")
    print(
        f"{'model':>16} {'N':>4} {'steps':>5} {'loop':>10} {'ensemble':>10} {'ratio':>6} "
        f"{'compile':>8} {'loop compile':>13}"
    )
    for row in train_rows:
        print(
            f"{row['model']:>16} {row['members']:>4} {row['steps_per_call']:>5} "
            f"{row['loop_member_steps_per_s']:>10.1f} {row['ensemble_member_steps_per_s']:>10.1f} "
            f"{row['ensemble_ratio']:>6.2f} {row['ensemble_compile_s']:>8.2f} "
            f"{row['loop_compile_s']:>13.2f}"
        )

    print("\nGoals")
    for goal in goals:
        status = "met" if goal["met"] else "MISSED"
        print(f"  {status:>6}  {goal['goal']}: {goal['measured']} (target {goal['target']})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="run a subset in under a minute (CI smoke test)"
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"output file (default {DEFAULT_JSON})"
    )
    args = parser.parse_args(argv)

    if args.quick:
        init_cases = [(64, (64, 10), n) for n in (1, 8, 64)]
        train_cases = [(64, (128, 128, 10), n) for n in (1, 32)]
        repeats, steps, with_plain_vmap = 2, 10, False
    else:
        init_cases = [(64, (64, 10), n) for n in (1, 8, 64, 256)]
        init_cases += [(784, (512, 512, 10), n) for n in (1, 8, 64, 256)]
        train_cases = [(64, (128, 128, 10), n) for n in (1, 8, 32, 64, 256)]
        train_cases += [(784, (256, 10), n) for n in (1, 8, 32, 64, 256)]
        repeats, steps, with_plain_vmap = 3, 10, True

    load_before = os.getloadavg()
    started = time.perf_counter()
    init_rows = []
    for in_features, features, num_members in init_cases:
        init_rows.append(bench_init(in_features, features, num_members, repeats, with_plain_vmap))
        print(f"init {init_rows[-1]['model']} N={num_members} done", flush=True)
    train_rows = []
    for in_features, features, num_members in train_cases:
        train_rows.append(bench_train(in_features, features, num_members, steps, repeats))
        print(f"train {train_rows[-1]['model']} N={num_members} done", flush=True)
    goals = check_goals(init_rows, train_rows)
    print_tables(init_rows, train_rows, goals)

    result = {
        "command": "python benchmarks/many_seeds.py" + (" --quick" if args.quick else ""),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "jax_backend": jax.default_backend(),
            "jax_version": jax.__version__,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "seconds": time.perf_counter() - started,
        "repeats": repeats,
        "init": init_rows,
        "train": train_rows,
        "goals": goals,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nWrote {args.json} ({result['seconds']:.0f} s).")


if __name__ == "__main__":
    main()
