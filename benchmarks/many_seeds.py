"""Benchmark many seeds at once: jaxinit.ensemble against Python loops over members.

Initialization: `init_many(model.init, keys, x)` against a Python loop of a jitted
``model.init`` (one dispatch per member), and against a plain
``jax.jit(jax.vmap(model.init))``, for MLPs 64-64-10 and 784-512-512-10.

Training: one call of a `make_train_step` step (all members, 10 steps per dispatch)
against training the members one after another with a jitted single-member step (one
dispatch per step). The MLPs are 64-128-128-10 and 784-256-10, trained with Adam on a
shared batch of 128 random examples per step.

Usage:
  python benchmarks/many_seeds.py [--quick] [--choices] [--json PATH]

Prints a table of median times, ratios against the loop (above 1 means faster than the
loop) and compile times, checks the goals listed in benchmarks/README.md, and writes
everything as JSON (default benchmarks/results/many_seeds.json). ``--quick`` runs a
subset in under a minute so CI can smoke-test the script. ``--choices`` also times the
chunk sizes and LLVM optimization levels behind init_many's CPU defaults.
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
    """ReLU MLP whose ``features`` give the output width of every Dense layer."""

    features: tuple[int, ...]

    @nn.compact
    def __call__(self, x):
        for width in self.features[:-1]:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.features[-1])(x)


def block(tree):
    return jax.block_until_ready(tree)


def measure(runs, min_repeats, min_seconds=0.5, max_repeats=200):
    """Time the first call of every run, then alternate between the runs.

    Alternating spreads background load evenly over the runs. Every run is repeated at
    least ``min_repeats`` times, and more (up to ``max_repeats``) until all of them
    together took ``min_seconds``, so that millisecond timings get enough samples.

    Returns:
      {name: {"first_s", "median_s", "cpu_median_s", "repeats"}}, where ``first_s``
      includes the compile and ``cpu_median_s`` is the median process CPU time (all
      threads) of a call.
    """
    results = {}
    for name, run in runs.items():
        start = time.perf_counter()
        block(run())
        results[name] = {"first_s": time.perf_counter() - start, "wall": [], "cpu": []}

    spent = 0.0
    repeats = 0
    while repeats < max_repeats and (repeats < min_repeats or spent < min_seconds):
        for name, run in runs.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            block(run())
            wall = time.perf_counter() - wall_start
            results[name]["wall"].append(wall)
            results[name]["cpu"].append(time.process_time() - cpu_start)
            spent += wall
        repeats += 1

    return {
        name: {
            "first_s": result["first_s"],
            "median_s": statistics.median(result["wall"]),
            "cpu_median_s": statistics.median(result["cpu"]),
            "repeats": len(result["wall"]),
        }
        for name, result in results.items()
    }


def bench_init(in_features, features, num_members, repeats, with_plain_vmap):
    model = MLP(features)
    x = jnp.ones((1, in_features))
    keys = member_keys(0, num_members)
    key_list = [keys[i] for i in range(num_members)]
    single = jax.jit(model.init)

    runs = {
        "loop": lambda: [single(key, x) for key in key_list],
        "init_many": lambda: init_many(model.init, keys, x),
    }
    if with_plain_vmap:
        plain = jax.jit(jax.vmap(model.init, in_axes=(0, None)))
        runs["plain_vmap"] = lambda: plain(keys, x)
    timings = measure(runs, repeats)

    loop = timings["loop"]
    row = {
        "model": "-".join(str(n) for n in (in_features, *features)),
        "members": num_members,
        "repeats": loop["repeats"],
        "loop_first_s": loop["first_s"],
        "loop_s": loop["median_s"],
        "loop_cpu_s": loop["cpu_median_s"],
        # The loop's first call compiles the single-member program once, then runs N members.
        "loop_compile_s": max(loop["first_s"] - loop["median_s"], 0.0),
    }
    for name in runs:
        if name == "loop":
            continue
        timing = timings[name]
        row[f"{name}_first_s"] = timing["first_s"]
        row[f"{name}_s"] = timing["median_s"]
        row[f"{name}_cpu_s"] = timing["cpu_median_s"]
        row[f"{name}_ratio"] = loop["median_s"] / timing["median_s"]
        row[f"{name}_cpu_ratio"] = loop["cpu_median_s"] / timing["cpu_median_s"]
        row[f"{name}_compile_s"] = max(timing["first_s"] - timing["median_s"], 0.0)
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

    timings = measure(
        {"loop": train_loop, "ensemble": lambda: ensemble_step(params, opt_state, batches)},
        repeats,
    )
    loop, ensemble = timings["loop"], timings["ensemble"]
    member_steps = num_members * steps
    return {
        "model": "-".join(str(n) for n in (in_features, *features)),
        "members": num_members,
        "steps_per_call": steps,
        "repeats": loop["repeats"],
        "loop_member_steps_per_s": member_steps / loop["median_s"],
        "ensemble_member_steps_per_s": member_steps / ensemble["median_s"],
        "ensemble_ratio": loop["median_s"] / ensemble["median_s"],
        "loop_cpu_s": loop["cpu_median_s"],
        "ensemble_cpu_s": ensemble["cpu_median_s"],
        "ensemble_cpu_ratio": loop["cpu_median_s"] / ensemble["cpu_median_s"],
        "loop_compile_s": max(loop["first_s"] - loop["median_s"], 0.0),
        "ensemble_compile_s": max(ensemble["first_s"] - ensemble["median_s"], 0.0),
    }


def bench_choices(num_members=64, repeats=3):
    """Time the two choices behind init_many's CPU defaults, for the --choices table.

    Chunk size: init_many with chunk_size 1, 2, 8 and N on the 784-512-512-10 MLP.
    Optimization level: the program of init_many compiled at LLVM levels 2 and 3, for
    both init MLPs. Only the level needs private names of jaxinit.ensemble, because
    init_many has no public option for it.
    """
    from jaxinit import ensemble

    rows = []
    model, x = MLP((512, 512, 10)), jnp.ones((1, 784))
    keys = member_keys(0, num_members)
    runs = {
        f"chunk_size={chunk}": (
            lambda chunk=chunk: init_many(model.init, keys, x, chunk_size=chunk)
        )
        for chunk in (1, 2, 8, num_members)
    }
    for name, timing in measure(runs, repeats).items():
        rows.append({"model": "784-512-512-10", "members": num_members, "choice": name, **timing})

    for in_features, features in ((64, (64, 10)), (784, (512, 512, 10))):
        model, x = MLP(features), jnp.ones((1, in_features))
        dynamic_leaves, spec = ensemble._split_arguments((x,), {})
        cache_key = ensemble._cache_key(model.init)
        runs = {}
        for level in (2, 3):
            program = jax.jit(
                ensemble._init_stacked,
                static_argnums=(0, 1, 2),
                compiler_options={"xla_backend_optimization_level": level},
            )
            runs[f"llvm_level={level}"] = (
                lambda program=program, key=cache_key, spec=spec, leaves=dynamic_leaves: program(
                    key, spec, None, keys, leaves
                )
            )
        model_name = "-".join(str(n) for n in (in_features, *features))
        for name, timing in measure(runs, repeats).items():
            rows.append({"model": model_name, "members": num_members, "choice": name, **timing})
    return rows


def print_choices(rows):
    print("\nCPU defaults of init_many: median and first-call seconds, CPU = process time.")
    print(f"{'model':>15} {'N':>4} {'choice':>15} {'median':>8} {'cpu':>8} {'first':>7}")
    for row in rows:
        print(
            f"{row['model']:>15} {row['members']:>4} {row['choice']:>15} "
            f"{row['median_s']:>8.4f} {row['cpu_median_s']:>8.4f} {row['first_s']:>7.2f}"
        )


def check_goals(init_rows, train_rows):
    goals = []
    worst = min(init_rows, key=lambda row: row["init_many_ratio"])
    goals.append(
        {
            "goal": "init_many no slower than the loop at any N",
            "target": ">= 1.0x",
            "measured": (
                f"{worst['init_many_ratio']:.2f}x (worst: {worst['model']}, N={worst['members']})"
            ),
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
    print("\nInitialization: median seconds per call, and ratio = loop time / time (above 1")
    print("is faster than the loop); cpu = the same ratio in process CPU time; first = the")
    print("first call, compile included.")
    header = (
        f"{'model':>15} {'N':>4} {'loop':>8} {'init_many':>9} {'ratio':>6} {'cpu':>5} "
        f"{'compile':>7} {'first':>6} {'loop first':>10} {'plain vmap':>10} {'ratio':>6} "
        f"{'compile':>7}"
    )
    print(header)
    for row in init_rows:
        line = (
            f"{row['model']:>15} {row['members']:>4} {row['loop_s']:>8.4f} "
            f"{row['init_many_s']:>9.4f} {row['init_many_ratio']:>6.2f} "
            f"{row['init_many_cpu_ratio']:>5.2f} {row['init_many_compile_s']:>7.2f} "
            f"{row['init_many_first_s']:>6.2f} {row['loop_first_s']:>10.2f}"
        )
        if "plain_vmap_s" in row:
            line += (
                f" {row['plain_vmap_s']:>10.4f} {row['plain_vmap_ratio']:>6.2f} "
                f"{row['plain_vmap_compile_s']:>7.2f}"
            )
        else:
            line += f" {'-':>10} {'-':>6} {'-':>7}"
        print(line)

    print("\nTraining: member-steps per second, ratio = ensemble / loop, cpu = the same in")
    print("process CPU time.")
    print(
        f"{'model':>15} {'N':>4} {'steps':>5} {'loop':>9} {'ensemble':>9} {'ratio':>6} "
        f"{'cpu':>5} {'compile':>7} {'loop compile':>12}"
    )
    for row in train_rows:
        print(
            f"{row['model']:>15} {row['members']:>4} {row['steps_per_call']:>5} "
            f"{row['loop_member_steps_per_s']:>9.1f} {row['ensemble_member_steps_per_s']:>9.1f} "
            f"{row['ensemble_ratio']:>6.2f} {row['ensemble_cpu_ratio']:>5.2f} "
            f"{row['ensemble_compile_s']:>7.2f} {row['loop_compile_s']:>12.2f}"
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
        "--choices",
        action="store_true",
        help="also time init_many's chunk sizes and LLVM optimization levels (about 3 min)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"output file (default {DEFAULT_JSON})"
    )
    args = parser.parse_args(argv)

    if args.quick:
        init_cases = [(64, (64, 10), n) for n in (1, 64)]
        train_cases = [(64, (128, 128, 10), 32)]
        repeats, steps, with_plain_vmap = 3, 10, False
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
    choice_rows = bench_choices(repeats=repeats) if args.choices else []
    goals = check_goals(init_rows, train_rows)
    print_tables(init_rows, train_rows, goals)
    if choice_rows:
        print_choices(choice_rows)

    result = {
        "command": " ".join(["python benchmarks/many_seeds.py", *(argv or sys.argv[1:])]),
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
        "min_repeats": repeats,
        "init": init_rows,
        "train": train_rows,
        "choices": choice_rows,
        "goals": goals,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nWrote {args.json} ({result['seconds']:.0f} s).")


if __name__ == "__main__":
    main()
