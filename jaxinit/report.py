"""Report of a comparison run: results.json, curves.csv, the loss plot and the table.

Every writer replaces its file atomically (a temporary file in the same
folder, then `os.replace`), so a reader or an interrupted run never sees a
half-written file. The progress reporters used while training live here too.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import jax
import numpy as np
import optax

from jaxinit.stats import MetricSummary, _json_float

if TYPE_CHECKING:
    from jaxinit.compare import CompareResult

__all__ = [
    "RESULTS_FORMAT_VERSION",
    "format_table",
    "plot_curves",
    "print_report",
    "results_to_json",
    "write_curves",
    "write_results",
]

logger = logging.getLogger(__name__)

RESULTS_FORMAT_VERSION = 1


class _PlainReporter:
    """Prints a progress line at each tenth of the run, or nothing when disabled."""

    def __init__(self, total: int, members: int, enabled: bool) -> None:
        self.total = total
        self.members = members
        self.enabled = enabled
        self.next_tenth = 1
        self.started = time.perf_counter()

    def __enter__(self) -> _PlainReporter:
        if self.enabled:
            print(f"training {self.members} members for {self.total} steps", flush=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(
        self, step: int, val_loss: np.ndarray | None = None, diverged: np.ndarray | None = None
    ) -> None:
        if not self.enabled or val_loss is None or diverged is None:
            return
        if step * 10 < self.next_tenth * self.total and step != self.total:
            return
        self.next_tenth = step * 10 // self.total + 1
        finite = val_loss[~diverged & np.isfinite(val_loss)]
        best = f"{finite.min():.4f}" if finite.size else "n/a"
        elapsed = time.perf_counter() - self.started
        print(
            f"step {step}/{self.total}: lowest validation loss {best}, "
            f"{int(diverged.sum())} diverged, {elapsed:.1f} s of training",
            flush=True,
        )


class _RichReporter:
    """A rich progress bar on the terminal."""

    def __init__(self, total: int, members: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.total = total
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("step {task.completed}/{task.total}"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self.task = self.progress.add_task(f"training {members} members", total=total, status="")

    def __enter__(self) -> _RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def update(
        self, step: int, val_loss: np.ndarray | None = None, diverged: np.ndarray | None = None
    ) -> None:
        status = None
        if val_loss is not None and diverged is not None:
            finite = val_loss[~diverged & np.isfinite(val_loss)]
            best = f"{finite.min():.4f}" if finite.size else "n/a"
            status = f"lowest val loss {best}, {int(diverged.sum())} diverged"
        if status is None:
            self.progress.update(self.task, completed=step)
        else:
            self.progress.update(self.task, completed=step, status=status)


def _make_reporter(progress: bool, total: int, members: int) -> _PlainReporter | _RichReporter:
    if progress and sys.stdout.isatty() and importlib.util.find_spec("rich") is not None:
        return _RichReporter(total, members)
    return _PlainReporter(total, members, enabled=progress)


def _versions() -> dict[str, str]:
    import flax

    try:
        from importlib.metadata import PackageNotFoundError, version

        jaxinit_version = version("jaxinit")
    except PackageNotFoundError:
        import jaxinit

        jaxinit_version = getattr(jaxinit, "__version__", "unknown")
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "jaxinit": jaxinit_version,
    }


def results_to_json(result: CompareResult, *, complete: bool = True) -> dict[str, Any]:
    """Return the contents of ``results.json`` for a result.

    ``complete`` is stored as is: `run_compare` writes ``False`` after a
    logged step and ``True`` after the last step. ``step_reached`` is the last
    logged step, and the per-member metrics are those at that step.
    """
    dataset = result.dataset
    members = []
    for member in range(len(result.diverged)):
        label, seed_index = result.member_scheme(member)
        accuracy = None
        if result.val_accuracy is not None:
            accuracy = _json_float(result.val_accuracy[member, -1])
        members.append(
            {
                "scheme": label,
                "seed_index": seed_index,
                "diverged": bool(result.diverged[member]),
                "train_loss": _json_float(result.train_loss[member, -1]),
                "val_loss": _json_float(result.val_loss[member, -1]),
                "val_accuracy": accuracy,
            }
        )
    return {
        "format_version": RESULTS_FORMAT_VERSION,
        "complete": complete,
        "step_reached": int(result.steps[-1]),
        "config": result.config.to_json(),
        "versions": _versions(),
        "backend": jax.default_backend(),
        "dataset": {
            "name": dataset.name,
            "task": dataset.task,
            "train_rows": len(dataset.y_train),
            "val_rows": len(dataset.y_val),
            "features": dataset.num_features,
            "num_classes": dataset.num_classes,
            "target_scale": dataset.target_scale,
        },
        "steps_logged": [int(step) for step in result.steps],
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "timings_seconds": {name: round(value, 3) for name, value in result.timings.items()},
        "ranking": list(result.ranking),
        "conclusion": result.conclusion,
        "schemes": [summary.to_json() for summary in result.summaries],
        "members": members,
    }


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through ``write(stream)`` to a temporary file, then rename it over ``path``.

    Readers see either the old file or the complete new one, never a part.
    The file gets the usual permissions (0666 less the umask), not the 0600
    of a temporary file.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def write_results(path: str | Path, result: CompareResult, *, complete: bool = True) -> Path:
    """Write ``results_to_json(result)`` to ``path`` atomically and return the path."""
    path = Path(path)
    payload = results_to_json(result, complete=complete)
    _write_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")
    return path


def write_curves(path: str | Path, result: CompareResult) -> Path:
    """Write the logged metrics of every member to a CSV file atomically.

    Columns: scheme, seed_index, step, train_loss, val_loss, val_accuracy. One
    row per member and logged step; a missing value (the train loss at step 0,
    the accuracy of a regression, a diverged member's NaN) is an empty field.
    """
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["scheme", "seed_index", "step", "train_loss", "val_loss", "val_accuracy"])
    for member in range(len(result.diverged)):
        label, seed_index = result.member_scheme(member)
        for point, step in enumerate(result.steps):
            accuracy = math.nan
            if result.val_accuracy is not None:
                accuracy = result.val_accuracy[member, point]
            writer.writerow(
                [
                    label,
                    seed_index,
                    int(step),
                    _csv_float(result.train_loss[member, point]),
                    _csv_float(result.val_loss[member, point]),
                    _csv_float(accuracy),
                ]
            )
    _write_atomic(path, buffer.getvalue())
    return path


def _csv_float(value: float) -> str:
    value = float(value)
    return repr(value) if math.isfinite(value) else ""


def plot_curves(path: str | Path, result: CompareResult) -> Path | None:
    """Plot the validation loss against the step, one line per scheme, to a PNG file.

    Each line is the mean over the scheme's non-diverged members with a band
    of one standard deviation either side. The y axis is logarithmic when the
    plotted values span more than a factor of 20. Uses Matplotlib's Agg
    canvas without touching pyplot's global backend.

    Returns:
        The path, or ``None`` when Matplotlib is not installed (a warning is
        logged).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning(
            "matplotlib is not installed, so loss_curves.png was not written; "
            "install it with: pip install 'jaxinit[compare]'"
        )
        return None

    path = Path(path)
    classification = result.val_accuracy is not None
    figure = Figure(figsize=(11 if classification else 7, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2 if classification else 1, squeeze=False)[0]
    panels = [(axes[0], result.val_loss, "validation loss")]
    if classification:
        panels.append((axes[1], result.val_accuracy, "validation accuracy"))

    colors = [f"C{index % 10}" for index in range(len(result.labels))]
    for axis, values, name in panels:
        plotted = []
        for index, label in enumerate(result.labels):
            members = slice(index * result.config.seeds, (index + 1) * result.config.seeds)
            finite = values[members][~result.diverged[members]]
            if finite.size == 0:
                continue
            mean = finite.mean(axis=0)
            std = finite.std(axis=0, ddof=1) if len(finite) > 1 else np.zeros_like(mean)
            axis.plot(result.steps, mean, color=colors[index], label=label)
            axis.fill_between(result.steps, mean - std, mean + std, color=colors[index], alpha=0.2)
            plotted.append(mean)
        axis.set_xlabel("step")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        if name == "validation loss" and plotted:
            values_plotted = np.concatenate(plotted)
            positive = values_plotted[values_plotted > 0]
            if positive.size and positive.max() > 20 * positive.min():
                axis.set_yscale("log")
    axes[0].legend(fontsize="small")
    figure.suptitle(
        f"{result.dataset.name}: {result.config.seeds} seeds per scheme, "
        f"mean +/- 1 std over non-diverged members"
    )

    write_atomic(path, lambda stream: figure.savefig(stream, format="png", dpi=120))
    return path


def _write_outputs(result: CompareResult, out_dir: Path) -> dict[str, Path]:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "results": write_results(out_dir / "results.json", result),
        "curves": write_curves(out_dir / "curves.csv", result),
    }
    plot = plot_curves(out_dir / "loss_curves.png", result)
    if plot is not None:
        files["plot"] = plot
    logger.info("wrote %s in %.1f s", out_dir, time.perf_counter() - started)
    return files


def _format_metric(metric: MetricSummary | None, digits: int = 4) -> tuple[str, str]:
    if metric is None or metric.count == 0:
        return "n/a", "n/a"
    if metric.count == 1:
        return f"{metric.mean:.{digits}f}", "n/a"
    return (
        f"{metric.mean:.{digits}f} ± {metric.std:.{digits}f}",
        f"[{metric.ci_low:.{digits}f}, {metric.ci_high:.{digits}f}]",
    )


def _table_rows(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    classification = result.val_accuracy is not None
    header = ["rank", "scheme", "val loss", "95% CI"]
    if classification:
        header += ["val accuracy", "95% CI"]
    header += ["train loss", "diverged"]
    rows = []
    for summary in result.summaries:
        row = [str(summary.rank), summary.label, *_format_metric(summary.val_loss)]
        if classification:
            row += list(_format_metric(summary.val_accuracy))
        row += [_format_metric(summary.train_loss)[0], f"{summary.diverged}/{summary.members}"]
        rows.append(row)
    return header, rows


def format_table(result: CompareResult) -> str:
    """Return the ranking as a plain-text table followed by the conclusion.

    Each metric cell is ``mean ± std`` over the non-diverged members, and
    each ``95% CI`` cell is the confidence interval of the mean.
    """
    header, rows = _table_rows(result)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines) + "\n\n" + result.conclusion


def _report_title(result: CompareResult) -> str:
    config = result.config
    hidden = ",".join(str(width) for width in config.hidden) or "none"
    return (
        f"{result.dataset.name} ({result.dataset.task}): MLP hidden={hidden} "
        f"{config.activation}, {config.optimizer} lr={config.learning_rate:g}, "
        f"{config.steps} steps, {config.seeds} seeds per scheme, "
        f"{result.elapsed_seconds:.1f} s"
    )


def print_report(result: CompareResult, *, file: Any = None) -> None:
    """Print the ranking table, the conclusion and the paths of the written files.

    On a terminal with rich installed the table is a rich table; otherwise it
    is the plain text of `format_table`, which never wraps, so logs and pipes
    stay readable.
    """
    stream = sys.stdout if file is None else file
    title = _report_title(result)
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    if not is_terminal or importlib.util.find_spec("rich") is None:
        print(title, file=stream)
        print(format_table(result), file=stream)
    else:
        from rich.console import Console
        from rich.table import Table

        header, rows = _table_rows(result)
        table = Table(title=title, caption="mean ± std over non-diverged members")
        for name in header:
            table.add_column(name, justify="left" if name == "scheme" else "right")
        for row in rows:
            table.add_row(*row)
        console = Console(file=stream)
        console.print(table)
        console.print(result.conclusion, highlight=False)
    for kind, path in result.files.items():
        print(f"{kind}: {path}", file=stream)
