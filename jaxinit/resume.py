"""Reading the files of an earlier comparison run so that `run_compare` can resume it.

A run writes ``results.json`` (``"complete": false`` until the last step)
and ``checkpoint.npz`` after every logged step, and deletes the checkpoint
once the final files are written. Resuming checks that the saved settings
equal the requested ones and continues from the checkpoint. A complete run
is read back from ``results.json`` and ``curves.csv`` instead.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CHECKPOINT_NAME", "check_same_config", "read_saved_curves", "read_saved_results"]

CHECKPOINT_NAME = "checkpoint.npz"


def read_saved_results(out_dir: str | Path) -> dict[str, Any]:
    """Read ``results.json`` of an earlier run in ``out_dir``.

    Args:
        out_dir: the folder of the earlier run.

    Returns:
        The parsed contents.

    Raises:
        ValueError: if the file is missing or not valid JSON with ``complete``
            and ``config``, or if the run is not complete and the checkpoint
            next to it is missing.
    """
    path = Path(out_dir) / "results.json"
    if not path.is_file():
        raise ValueError(
            f"Cannot resume from {str(out_dir)!r}: {str(path)!r} not found; expected the "
            f"folder of an earlier 'jaxinit compare' run."
        )
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Cannot resume from {str(out_dir)!r}: {str(path)!r} is not valid JSON "
            f"({error.msg} at character {error.pos})."
        ) from error
    if not isinstance(saved, dict) or "complete" not in saved or "config" not in saved:
        raise ValueError(
            f"Cannot resume from {str(out_dir)!r}: {str(path)!r} has no 'complete' and "
            f"'config' entries, so it was not written by 'jaxinit compare'."
        )
    if not saved["complete"] and not (Path(out_dir) / CHECKPOINT_NAME).is_file():
        raise ValueError(
            f"Cannot resume from {str(out_dir)!r}: {CHECKPOINT_NAME} not found; it is "
            f"written after the first logged step, so start the run again."
        )
    return saved


def check_same_config(
    saved_config: dict[str, Any], requested_config: dict[str, Any], out_dir: str | Path
) -> None:
    """Raise `ValueError` naming every setting where a saved run and a request differ.

    Both arguments are ``CompareConfig.to_json()`` values. The requested one
    goes through a JSON round trip first, so tuples and lists compare equal.
    """
    # NOTE: an initializer object from outside the registry is saved as None,
    # so two such schemes always compare equal here.
    requested = json.loads(json.dumps(requested_config))
    names = sorted(set(saved_config) | set(requested))
    differences = [
        f"{name}={saved_config.get(name)!r} (requested {requested.get(name)!r})"
        for name in names
        if saved_config.get(name) != requested.get(name)
    ]
    if differences:
        raise ValueError(
            f"Cannot resume from {str(out_dir)!r}: the saved run has "
            f"{', '.join(differences)}; pass the same settings as the interrupted run."
        )


def read_saved_curves(
    out_dir: str | Path, labels: tuple[str, ...], seeds: int, points: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read ``curves.csv`` of a complete run back into arrays.

    The writer stores every value with ``repr``, so the floats read back are
    the ones that were written. An empty field reads as NaN.

    Args:
        out_dir: the folder of the run.
        labels: scheme labels in the order of the run's members.
        seeds: members per scheme.
        points: logged steps per member.

    Returns:
        ``(steps, train_loss, val_loss, val_accuracy)`` with shapes
        ``(points,)`` and ``(members, points)``.

    Raises:
        ValueError: if a row names an unknown scheme or seed, or a member
            lacks a logged step.
    """
    path = Path(out_dir) / "curves.csv"
    members = len(labels) * seeds
    steps = np.full(points, -1, dtype=np.int64)
    curves = np.full((3, members, points), math.nan)
    seen = np.zeros((members, points), dtype=bool)
    scheme_index = {label: index for index, label in enumerate(labels)}
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            seed_index = int(row["seed_index"])
            if row["scheme"] not in scheme_index or not 0 <= seed_index < seeds:
                raise ValueError(
                    f"{str(path)!r} has a row for scheme {row['scheme']!r} seed {seed_index}, "
                    f"which the requested run does not have."
                )
            member = scheme_index[row["scheme"]] * seeds + seed_index
            point = int(seen[member].sum())
            if point >= points:
                raise ValueError(f"{str(path)!r} has more than {points} rows for one member.")
            steps[point] = int(row["step"])
            for index, name in enumerate(("train_loss", "val_loss", "val_accuracy")):
                curves[index, member, point] = float(row[name]) if row[name] else math.nan
            seen[member, point] = True
    if not seen.all():
        raise ValueError(
            f"{str(path)!r} lacks logged steps for some members; expected {points} rows for "
            f"each of {members} members."
        )
    return steps, curves[0], curves[1], curves[2]
