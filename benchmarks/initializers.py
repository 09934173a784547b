"""Time jaxinit schemes against jax.nn.initializers (and torch.nn.init when installed).

For each scheme and shape, the script measures the median wall time of an
eager call (jaxinit compiles once per scheme, shape and dtype and then reuses
it; JAX's initializers dispatch their operations one by one) and of a call
inside ``jax.jit``, where both compile to one program. It prints a table of
medians with the ratio to the reference and writes JSON.

Usage: python benchmarks/initializers.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxinit

SCHEMES = {
    "lecun_normal": (jaxinit.lecun_normal, jax.nn.initializers.lecun_normal),
    "glorot_uniform": (jaxinit.glorot_uniform, jax.nn.initializers.glorot_uniform),
    "he_normal": (jaxinit.he_normal, jax.nn.initializers.he_normal),
    "normal": (lambda: jaxinit.normal(0.02), lambda: jax.nn.initializers.normal(0.02)),
    "orthogonal": (jaxinit.orthogonal, jax.nn.initializers.orthogonal),
}
SHAPES = [(64, 64), (512, 512), (3, 3, 64, 128), (2048, 2048)]
QUICK_SHAPES = [(64, 64), (512, 512)]


def _median_seconds(function, *args, repeats: int) -> float:
    jax.block_until_ready(function(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _torch_reference(name: str, shape: tuple[int, ...]):
    try:
        import torch
    except ImportError:
        return None
    # PyTorch weights are (out, in, *spatial); the element count is what matters here.
    tensor = torch.empty(shape[::-1])
    functions = {
        "lecun_normal": lambda: torch.nn.init.kaiming_normal_(tensor, nonlinearity="linear"),
        "glorot_uniform": lambda: torch.nn.init.xavier_uniform_(tensor),
        "he_normal": lambda: torch.nn.init.kaiming_normal_(tensor),
        "normal": lambda: torch.nn.init.normal_(tensor, std=0.02),
        "orthogonal": lambda: torch.nn.init.orthogonal_(tensor.reshape(shape[-1], -1)),
    }
    return functions[name]


def run(quick: bool) -> list[dict]:
    repeats = 5 if quick else 20
    shapes = QUICK_SHAPES if quick else SHAPES
    key = jax.random.key(0)
    rows = []
    for name, (ours, reference) in SCHEMES.items():
        for shape in shapes:
            if name == "orthogonal" and len(shape) > 2 and quick:
                continue
            ours_init, reference_init = ours(), reference()
            ours_jit = jax.jit(lambda k, init=ours_init, s=shape: init(k, s))
            reference_jit = jax.jit(lambda k, init=reference_init, s=shape: init(k, s))
            row = {
                "scheme": name,
                "shape": list(shape),
                "jaxinit_eager_s": _median_seconds(ours_init, key, shape, repeats=repeats),
                "jax_eager_s": _median_seconds(reference_init, key, shape, repeats=repeats),
                "jaxinit_jit_s": _median_seconds(ours_jit, key, repeats=repeats),
                "jax_jit_s": _median_seconds(reference_jit, key, repeats=repeats),
            }
            torch_call = _torch_reference(name, shape)
            if torch_call is not None:
                row["torch_s"] = _median_seconds(torch_call, repeats=repeats)
            rows.append(row)
    return rows


def _print_table(rows: list[dict]) -> None:
    header = (
        f"{'scheme':<16}{'shape':<18}{'eager ms':>10}{'jax eager':>11}{'ratio':>8}"
        f"{'jit ms':>9}{'jax jit':>9}{'ratio':>8}{'torch ms':>10}"
    )
    print(header)
    for row in rows:
        torch_ms = f"{row['torch_s'] * 1e3:10.3f}" if "torch_s" in row else f"{'-':>10}"
        print(
            f"{row['scheme']:<16}{str(tuple(row['shape'])):<18}"
            f"{row['jaxinit_eager_s'] * 1e3:10.3f}{row['jax_eager_s'] * 1e3:11.3f}"
            f"{row['jax_eager_s'] / row['jaxinit_eager_s']:8.2f}"
            f"{row['jaxinit_jit_s'] * 1e3:9.3f}{row['jax_jit_s'] * 1e3:9.3f}"
            f"{row['jax_jit_s'] / row['jaxinit_jit_s']:8.2f}{torch_ms}"
        )
    print("ratio = reference median / jaxinit median; above 1 means jaxinit is faster.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).parent / "results" / "initializers.json",
        help="where to write the results (default: benchmarks/results/initializers.json)",
    )
    args = parser.parse_args()

    rows = run(args.quick)
    _print_table(rows)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "initializers",
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "float_dtype": str(jnp.zeros(()).dtype),
        "rows": rows,
    }
    args.json.write_text(json.dumps(record, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
