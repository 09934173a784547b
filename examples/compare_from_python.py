"""Run the initializer comparison from Python: three schemes on iris, then print the ranking.

The same job as ``jaxinit compare --dataset iris --schemes
he_normal,glorot_uniform,keras:uniform --seeds 8 --steps 300``, with the
result as a Python object. Each scheme trains 8 seeds of the default MLP
(hidden widths 128, 128, ReLU) with Adam; the files go to ``--out``.

Run it with ``python examples/compare_from_python.py [--out DIR]``. The
environment variable ``JAXINIT_EXAMPLE_STEPS`` sets the number of steps
(default 300; smoke tests shrink it). Needs scikit-learn
(``pip install 'jaxinit[compare]'``).
"""

import argparse
import os

from jaxinit.compare import CompareConfig, run_compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default="jaxinit-compare-iris",
        help="folder for results.json, curves.csv and loss_curves.png (default %(default)s)",
    )
    arguments = parser.parse_args()

    config = CompareConfig(
        dataset="iris",
        schemes=("he_normal", "glorot_uniform", "keras:uniform"),
        seeds=8,
        steps=int(os.environ.get("JAXINIT_EXAMPLE_STEPS", "300")),
    )
    result = run_compare(config, progress=False, out_dir=arguments.out)

    for summary in result.summaries:
        loss, accuracy = summary.val_loss, summary.val_accuracy
        print(
            f"{summary.rank}. {summary.label}: validation loss {loss.mean:.4f} "
            f"(95% CI {loss.ci_low:.4f} to {loss.ci_high:.4f}), "
            f"accuracy {accuracy.mean:.3f}, diverged {summary.diverged}/{summary.members}"
        )
    print(result.conclusion)
    print(f"files: {', '.join(str(path) for path in result.files.values())}")


if __name__ == "__main__":
    main()
