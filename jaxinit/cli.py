"""The ``jaxinit`` command: ``jaxinit list`` and ``jaxinit compare``.

``jaxinit compare`` with no options trains an MLP on scikit-learn's digits
under eight schemes x 16 seeds and writes its results to ``./jaxinit-compare/``.
Invalid input ends with exit status 2 and one line on stderr,
``jaxinit compare: error: ...``.

A compare run loses nothing when it stops early. After every logged step it
replaces ``results.json`` (with ``"complete": false`` and ``step_reached``),
``curves.csv`` and ``checkpoint.npz`` in the output folder, so Ctrl-C (exit
status 130) or a killed process leaves valid partial files. ``jaxinit compare
--resume DIR`` with the same options as the interrupted run continues from the
checkpoint and ends with the same results as an uninterrupted run. Resuming
with other options fails with exit status 2, and resuming a complete run
prints its saved report. The checkpoint is deleted once the final files are
written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import jaxinit

__all__ = ["main", "split_schemes"]

_PROG = "jaxinit"
_DEFAULT_OUT = "jaxinit-compare"


class _UsageError(Exception):
    """Invalid command-line input; the message is printed as one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise `_UsageError` instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def split_schemes(text: str) -> list[str]:
    """Split a comma-separated scheme list at the commas outside JSON objects.

    ``'he_normal,{"name": "variance_scaling", "scale": 2.0, "mode": "fan_in"}'``
    gives two items: commas inside braces, brackets or double-quoted strings
    do not split.

    Args:
        text: the value of ``--schemes``.

    Returns:
        The items with surrounding spaces removed; empty items are dropped.

    Raises:
        ValueError: if a brace or bracket is not closed or a quote not ended.
    """
    items: list[str] = []
    current: list[str] = []
    depth = 0
    in_string = False
    escaped = False
    for character in text:
        if in_string:
            current.append(character)
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
            continue
        if character == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        current.append(character)
        if character == '"':
            in_string = True
        elif character in "{[":
            depth += 1
        elif character in "}]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"--schemes {text!r} has an unmatched {character!r}.")
    if in_string or depth != 0:
        raise ValueError(f"--schemes {text!r} has an unclosed JSON object or string.")
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a positive integer"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive integer")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a non-negative integer")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a positive finite number"
        )
    return value


def _hidden_widths(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    widths = []
    for item in text.split(","):
        try:
            width = int(item)
        except ValueError:
            width = 0
        if width < 1:
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: expected positive layer widths separated by commas, "
                f"such as 128,128"
            )
        widths.append(width)
    return tuple(widths)


def _build_parser() -> argparse.ArgumentParser:
    from jaxinit.compare import ACTIVATIONS, OPTIMIZERS, CompareConfig

    defaults = CompareConfig()
    parser = _Parser(
        prog=_PROG,
        description="Parameter initialization for JAX and Flax.",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {jaxinit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    listing = commands.add_parser(
        "list",
        help="list the initialization schemes",
        description="Print every registry name with a one-line description.",
    )
    listing.add_argument(
        "--datasets",
        action="store_true",
        help="list the bundled datasets of 'jaxinit compare' instead",
    )

    compare = commands.add_parser(
        "compare",
        help="train one model under several schemes and rank them",
        description=(
            "Train one MLP under several initialization schemes, many seeds each, all in one "
            "compiled program, and rank the schemes by mean validation loss with 95% "
            "confidence intervals. Writes results.json, curves.csv and loss_curves.png. "
            "After every logged step it saves partial results (results.json says "
            '"complete": false) and checkpoint.npz, so an interrupted run can be continued '
            "with --resume DIR."
        ),
    )
    compare.add_argument(
        "--dataset",
        default=defaults.dataset,
        metavar="NAME|PATH",
        help=(
            "bundled dataset (digits, iris, wine, breast_cancer, diabetes) or the path of a "
            ".npz file (arrays x, y) or .csv file (header row); default %(default)s"
        ),
    )
    compare.add_argument(
        "--target",
        metavar="COLUMN",
        help="target column of a .csv file (required for .csv), or label array of a .npz file",
    )
    compare.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default=defaults.task,
        help=(
            "task of a user file; auto picks classification for text or integer targets with "
            "at most 50 distinct values; default %(default)s"
        ),
    )
    compare.add_argument(
        "--model", choices=("mlp",), default=defaults.model, help="model family; default mlp"
    )
    compare.add_argument(
        "--hidden",
        type=_hidden_widths,
        default=defaults.hidden,
        metavar="W1,W2,...",
        help="hidden layer widths in units, comma-separated ('none' for a linear model); "
        "default 128,128",
    )
    compare.add_argument(
        "--activation",
        choices=tuple(ACTIVATIONS),
        default=defaults.activation,
        help="activation after each hidden layer; default %(default)s",
    )
    compare.add_argument(
        "--schemes",
        action="append",
        default=[],
        metavar="A,B,...",
        help=(
            "schemes to compare, comma-separated: registry names (see 'jaxinit list') or JSON "
            'configs such as \'{"name": "variance_scaling", "scale": 2.0}\'; commas inside '
            f"JSON do not split; default {','.join(defaults.schemes)}"
        ),
    )
    compare.add_argument(
        "--scheme",
        action="append",
        default=[],
        metavar="SCHEME",
        help="one scheme (name or JSON config); repeat to add more; combines with --schemes",
    )
    compare.add_argument(
        "--seeds",
        type=_positive_int,
        default=defaults.seeds,
        help="independent initializations (members) per scheme; default %(default)s",
    )
    compare.add_argument(
        "--steps",
        type=_positive_int,
        default=defaults.steps,
        help="optimizer steps (minibatches) per member; default %(default)s",
    )
    compare.add_argument(
        "--batch-size",
        type=_positive_int,
        default=defaults.batch_size,
        help="training rows per minibatch, shared by every member; default %(default)s",
    )
    compare.add_argument(
        "--optimizer",
        choices=tuple(OPTIMIZERS),
        default=defaults.optimizer,
        help="Optax optimizer (sgd is plain, without momentum); default %(default)s",
    )
    compare.add_argument(
        "--lr",
        type=_positive_float,
        default=defaults.learning_rate,
        help="learning rate; default %(default)g",
    )
    compare.add_argument(
        "--seed",
        type=_non_negative_int,
        default=defaults.seed,
        help="seed of the member keys, the train/validation split and the batch order; "
        "default %(default)s",
    )
    compare.add_argument(
        "--eval-every",
        type=_positive_int,
        default=None,
        metavar="N",
        help="steps between two validation passes (points of the curves); "
        "default: about steps / 20",
    )
    compare.add_argument(
        "--out",
        metavar="DIR",
        help=f"folder for results.json, curves.csv and loss_curves.png; default ./{_DEFAULT_OUT}/",
    )
    compare.add_argument(
        "--resume",
        metavar="DIR",
        help=(
            "continue the interrupted run in DIR from its checkpoint; pass the same options as "
            "that run (other options end with exit status 2); a complete run only prints its "
            "report"
        ),
    )
    compare.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar or lines"
    )
    compare.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing but errors (implies --no-progress); the files are still written",
    )
    return parser


def _run_list(args: argparse.Namespace) -> int:
    if args.datasets:
        from jaxinit.data import list_datasets

        rows = list(list_datasets().items())
    else:
        from jaxinit.registry import list_schemes

        rows = list_schemes()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name.ljust(width)}  {description}".rstrip())
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from jaxinit.compare import CompareConfig, print_report, run_compare
    from jaxinit.resume import CHECKPOINT_NAME

    schemes: list[str] = []
    for text in args.schemes:
        schemes.extend(split_schemes(text))
    schemes.extend(item.strip() for item in args.scheme)
    if (args.schemes or args.scheme) and not schemes:
        raise ValueError(
            "--schemes names no scheme; pass registry names or JSON configs separated "
            "by commas, or leave the option out to compare the default schemes"
        )
    if args.eval_every is not None and args.eval_every > args.steps:
        raise ValueError(
            f"--eval-every {args.eval_every} is larger than --steps {args.steps}; "
            f"expected at most the number of steps."
        )
    config_values = {
        "dataset": args.dataset,
        "target": args.target,
        "task": args.task,
        "model": args.model,
        "hidden": args.hidden,
        "activation": args.activation,
        "seeds": args.seeds,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "seed": args.seed,
        "eval_every": args.eval_every,
    }
    if schemes:
        config_values["schemes"] = tuple(schemes)
    config = CompareConfig(**config_values)

    if args.resume is not None and args.out is not None and args.out != args.resume:
        raise ValueError(
            f"--out {args.out} and --resume {args.resume} name different folders; a resumed "
            f"run writes to the folder it resumes, so pass only --resume."
        )
    out_dir = args.resume or args.out or _DEFAULT_OUT
    try:
        result = run_compare(
            config,
            progress=not (args.no_progress or args.quiet),
            out_dir=out_dir,
            resume=args.resume is not None,
        )
    except KeyboardInterrupt:
        message = f"{_PROG} compare: interrupted"
        if (Path(out_dir) / CHECKPOINT_NAME).is_file():
            message += (
                f"; partial results are in {out_dir}, continue the run with "
                f"'{_PROG} compare --resume {out_dir}' and the same options"
            )
        print(message, file=sys.stderr)
        return 130
    if not args.quiet:
        print_report(result)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jaxinit`` command and return its exit status.

    Args:
        argv: the arguments after the program name; ``None`` reads
            ``sys.argv[1:]``.

    Returns:
        0 on success, 2 for invalid input (with one line on stderr), 130 when
        interrupted.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="jaxinit: %(levelname)s: %(message)s")
    parser = _build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((item for item in arguments if item in ("list", "compare")), None)
    prog = _PROG if command is None else f"{_PROG} {command}"
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        if args.command == "list":
            return _run_list(args)
        return _run_compare(args)
    except _UsageError as error:
        print(f"{prog}: error: {error}. Run '{prog} --help' to see the options.", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ImportError, json.JSONDecodeError) as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout went away (as with `jaxinit list | head`); exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exit_request:
        # argparse exits after printing --help.
        return exit_request.code if isinstance(exit_request.code, int) else 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


if __name__ == "__main__":
    sys.exit(main())
