"""Real datasets for the comparison job: scikit-learn's bundled ones and user files.

`load_dataset` returns a `Dataset` with a fixed train/validation split and
standardized features, ready for an MLP. Nothing is downloaded: the bundled
datasets ship inside scikit-learn (an optional extra, ``pip install
'jaxinit[compare]'``), and user data comes from a local ``.npz`` or ``.csv``
file, which needs only NumPy.
"""

from __future__ import annotations

import csv
import importlib
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["Dataset", "list_datasets", "load_dataset"]

Task = Literal["classification", "regression"]

# Integer-valued or string targets with at most this many distinct values are
# treated as class labels when task="auto".
MAX_AUTO_CLASSES = 50

_BUNDLED = {
    "digits": (
        "load_digits",
        "classification",
        "8x8 images of handwritten digits, 1797 rows, 64 features, 10 classes",
    ),
    "iris": (
        "load_iris",
        "classification",
        "iris flower measurements, 150 rows, 4 features, 3 classes",
    ),
    "wine": (
        "load_wine",
        "classification",
        "chemical analysis of wines, 178 rows, 13 features, 3 classes",
    ),
    "breast_cancer": (
        "load_breast_cancer",
        "classification",
        "breast tumour cell measurements, 569 rows, 30 features, 2 classes",
    ),
    "diabetes": (
        "load_diabetes",
        "regression",
        "diabetes disease progression after one year, 442 rows, 10 features, regression",
    ),
}

_TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/validation split with standardized features.

    Features are standardized with the mean and standard deviation of the
    training split, ``x = (raw - mean) / std``, and a column that is constant
    on the training split gets ``std = 1`` so it becomes all zeros instead of
    dividing by zero. Regression targets are standardized the same way, so a
    mean squared error computed on ``y_train``/``y_val`` is in standardized
    units. Multiply it by ``target_scale ** 2`` to get the original units.

    Attributes:
        name: bundled dataset name, or the file name for user data.
        task: ``"classification"`` or ``"regression"``.
        x_train: float32 array of shape ``(n_train, n_features)``.
        y_train: int32 class indices in ``0 .. num_classes - 1`` for
            classification, float32 standardized targets for regression;
            shape ``(n_train,)``.
        x_val: float32 array of shape ``(n_val, n_features)``.
        y_val: labels or targets of the validation rows, as ``y_train``.
        num_classes: number of classes, or ``None`` for regression.
        feature_names: one name per feature column.
        class_names: original label of each class index (as text), empty for
            regression.
        target_mean: training mean of the raw regression target (0.0 for
            classification).
        target_scale: training standard deviation of the raw regression
            target (1.0 for classification).
    """

    name: str
    task: Task
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int | None
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    target_mean: float = 0.0
    target_scale: float = 1.0

    @property
    def num_features(self) -> int:
        """Number of feature columns."""
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        classes = "" if self.num_classes is None else f", num_classes={self.num_classes}"
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, train={self.x_train.shape}, "
            f"val={self.x_val.shape}{classes})"
        )


def list_datasets() -> dict[str, str]:
    """Return the bundled dataset names with a one-line description each.

    Returns:
        A dict from name (usable as ``load_dataset(name)``) to description, in
        a fixed order with the default, ``digits``, first.

    Example:
        >>> list(list_datasets())
        ['digits', 'iris', 'wine', 'breast_cancer', 'diabetes']
    """
    return {name: description for name, (_, _, description) in _BUNDLED.items()}


def load_dataset(
    name_or_path: str | Path,
    *,
    target: str | None = None,
    task: Literal["auto", "classification", "regression"] = "auto",
    seed: int = 0,
    val_fraction: float = 0.2,
) -> Dataset:
    """Load a bundled dataset or a user file and split it into train and validation.

    The split is drawn from ``numpy.random.default_rng(seed)`` and is
    stratified for classification: each class contributes about
    ``val_fraction`` of its rows to the validation split and keeps at least one
    row for training. Labels of any kind (integers, floats with integer values,
    strings) are mapped to ``0 .. C - 1`` in sorted order.

    For user files, ``task="auto"`` picks classification when the target is
    made of strings or integer values with at most 50 distinct values, and
    regression otherwise.

    Args:
        name_or_path: a bundled name (see `list_datasets`) or the path of a
            ``.npz`` or ``.csv`` file. A ``.npz`` file contains ``x`` of shape
            ``(n, ...)``, flattened to ``(n, features)``, and ``y`` of shape
            ``(n,)``. A ``.csv`` file has a header row, then one row per
            example, and every column except the target must be numeric.
        target: for ``.csv``, the name of the target column (required). For
            ``.npz``, the name of the label array (default ``"y"``). Must be
            ``None`` for bundled datasets.
        task: ``"auto"`` (default), ``"classification"`` or ``"regression"``.
            For bundled datasets it must be ``"auto"`` or the dataset's own task.
        seed: seed of the train/validation split.
        val_fraction: fraction of rows in the validation split, in (0, 1);
            default 0.2.

    Returns:
        A `Dataset`.

    Raises:
        ValueError: for an unknown name, a missing or unreadable file, a
            missing or unknown target column, a non-numeric feature, NaN or
            infinite values, arrays of different lengths, too few rows for the
            split, a classification target with a single class, or an invalid
            ``task``, ``seed`` or ``val_fraction``. The message names the file
            and the problem.
        TypeError: if ``name_or_path`` is not a string or path.
        ImportError: for a bundled dataset when scikit-learn is not installed.

    Example:
        >>> data = load_dataset("iris")
        >>> data.x_train.shape, data.x_val.shape, data.num_classes
        ((120, 4), (30, 4), 3)
    """
    if not isinstance(name_or_path, str | Path):
        raise TypeError(
            f"load_dataset expects name_or_path to be a dataset name or a file path, "
            f"got {type(name_or_path).__name__}."
        )
    if task not in _TASKS:
        raise ValueError(
            f"load_dataset got task={task!r}; expected one of 'auto', 'classification', "
            f"'regression'."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"load_dataset got seed={seed!r}; expected a non-negative integer.")
    if not isinstance(val_fraction, int | float) or not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"load_dataset got val_fraction={val_fraction!r}; expected a number strictly "
            f"between 0 and 1."
        )

    if isinstance(name_or_path, str) and name_or_path in _BUNDLED:
        name = name_or_path
        x, labels, task_kind, feature_names, class_names = _load_bundled(name, target, task)
    else:
        path = Path(name_or_path)
        name = path.name
        x, raw_target, feature_names = _read_user_file(path, target)
        task_kind = _infer_task(path, raw_target, task)
        labels, class_names = _encode_target(path, raw_target, task_kind)

    train_index, val_index = _split_indices(name, labels, task_kind, seed, val_fraction)
    return _standardize(
        name, task_kind, x, labels, train_index, val_index, feature_names, class_names
    )


def _load_bundled(
    name: str, target: str | None, task: str
) -> tuple[np.ndarray, np.ndarray, Task, tuple[str, ...], tuple[str, ...]]:
    loader_name, own_task, _ = _BUNDLED[name]
    if target is not None:
        raise ValueError(
            f"Dataset {name!r} is bundled and has a fixed target, so target must be None, "
            f"got target={target!r}."
        )
    if task not in ("auto", own_task):
        raise ValueError(
            f"Dataset {name!r} is a {own_task} dataset, but task={task!r} was requested; "
            f"pass task='auto' or task={own_task!r}."
        )

    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise ImportError(
            f"The bundled dataset {name!r} comes from scikit-learn, which is not installed; "
            f"install it with: pip install 'jaxinit[compare]'"
        ) from error
    bunch = getattr(datasets, loader_name)()

    x = np.asarray(bunch.data, dtype=np.float64)
    feature_names = tuple(str(column) for column in bunch.feature_names)
    if own_task == "classification":
        labels = np.asarray(bunch.target, dtype=np.int32)
        class_names = tuple(str(label) for label in bunch.target_names)
    else:
        labels = np.asarray(bunch.target, dtype=np.float64)
        class_names = ()
    return x, labels, own_task, feature_names, class_names


def _read_user_file(
    path: Path, target: str | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        bundled = ", ".join(_BUNDLED)
        raise ValueError(
            f"Unknown dataset {str(path)!r}: expected a bundled name ({bundled}) or the path "
            f"of a .npz or .csv file."
        )
    if not path.is_file():
        raise ValueError(f"Dataset file {str(path)!r} was not found.")

    if suffix == ".npz":
        x, raw_target, feature_names = _read_npz(path, "y" if target is None else target)
    else:
        if target is None:
            raise ValueError(
                f"Dataset file {str(path)!r} is a CSV file, so the target column must be "
                f"named; pass target=COLUMN (--target on the command line)."
            )
        x, raw_target, feature_names = _read_csv(path, target)

    if x.shape[1] == 0:
        raise ValueError(f"Dataset file {str(path)!r} has no feature columns besides the target.")
    if not np.all(np.isfinite(x)):
        row, column = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"Dataset file {str(path)!r} contains a NaN or infinite feature value "
            f"(data row {row + 1}, feature {feature_names[column]!r}); remove or impute it "
            f"first."
        )
    return x, raw_target, feature_names


def _read_npz(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"Dataset file {str(path)!r} is not a readable .npz archive; save one with "
            f"numpy.savez(path, x=features, y=labels)."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files if key in ("x", label_key)}
            keys = sorted(archive.files)
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"Dataset file {str(path)!r} is not a readable .npz archive: {error}."
        ) from error
    except ValueError as error:
        raise ValueError(
            f"Dataset file {str(path)!r} could not be read without pickle; store x and "
            f"{label_key} as plain numeric or string arrays ({error})."
        ) from error

    for key in ("x", label_key):
        if key not in arrays:
            raise ValueError(
                f"Dataset file {str(path)!r} has no array named {key!r}; it contains {keys}, "
                f"and a .npz dataset needs 'x' (features) and {label_key!r} (labels)."
            )
    x = arrays["x"]
    y = arrays[label_key]

    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"Dataset file {str(path)!r} has x of shape {x.shape}; expected shape "
            f"(rows, features) with at least one row."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"Dataset file {str(path)!r} has {label_key} of shape {y.shape}; expected a "
            f"1-D array with one label per row."
        )
    if len(y) != len(x):
        raise ValueError(
            f"Dataset file {str(path)!r} has {len(x)} rows of x but {len(y)} labels in "
            f"{label_key!r}; they must have the same length."
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(
            f"Dataset file {str(path)!r} has x of dtype {x.dtype}; features must be numeric."
        )

    x = x.reshape(len(x), -1).astype(np.float64)
    if y.dtype.kind in "US":
        y = np.array([str(label).strip() for label in y.astype(str)], dtype=object)
    elif np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_:
        y = y.astype(np.float64)
    else:
        raise ValueError(
            f"Dataset file {str(path)!r} has {label_key} of dtype {y.dtype}; labels must be "
            f"numbers or strings."
        )
    feature_names = tuple(f"x{i}" for i in range(x.shape[1]))
    return x, y, feature_names


def _read_csv(path: Path, target: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(
            f"Dataset file {str(path)!r} is not a readable CSV file: {error}."
        ) from error

    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"Dataset file {str(path)!r} is empty; expected a header row and data.")
    header = [cell.strip() for cell in rows[0]]
    if target not in header:
        raise ValueError(
            f"Dataset file {str(path)!r} has no column named {target!r}; its columns are {header}."
        )
    if len(set(header)) != len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise ValueError(f"Dataset file {str(path)!r} has two columns named {duplicate!r}.")

    target_column = header.index(target)
    feature_columns = [i for i in range(len(header)) if i != target_column]
    features = np.empty((len(rows) - 1, len(feature_columns)), dtype=np.float64)
    raw_target: list[str] = []
    for row_number, row in enumerate(rows[1:]):
        line = row_number + 2
        if len(row) != len(header):
            raise ValueError(
                f"Dataset file {str(path)!r} line {line} has {len(row)} fields but the header "
                f"has {len(header)}."
            )
        label = row[target_column].strip()
        if not label:
            raise ValueError(
                f"Dataset file {str(path)!r} line {line} has an empty value in the target "
                f"column {target!r}."
            )
        raw_target.append(label)
        for j, column in enumerate(feature_columns):
            try:
                features[row_number, j] = float(row[column])
            except ValueError:
                raise ValueError(
                    f"Dataset file {str(path)!r} line {line} has the non-numeric value "
                    f"{row[column]!r} in feature column {header[column]!r}; every column "
                    f"except the target must be numeric."
                ) from None

    if not raw_target:
        raise ValueError(f"Dataset file {str(path)!r} has a header but no data rows.")
    return features, _parse_target(raw_target), tuple(header[i] for i in feature_columns)


def _parse_target(labels: list[str]) -> np.ndarray:
    """Return float64 values when every label is a number, else the labels as strings."""
    try:
        values = np.array([float(label) for label in labels], dtype=np.float64)
    except ValueError:
        return np.array(labels, dtype=object)
    return values


def _infer_task(path: Path, raw_target: np.ndarray, task: str) -> Task:
    is_text = raw_target.dtype == object
    if not is_text and not np.all(np.isfinite(raw_target)):
        row = int(np.argwhere(~np.isfinite(raw_target))[0, 0])
        raise ValueError(
            f"Dataset file {str(path)!r} contains a NaN or infinite target value "
            f"(data row {row + 1}); remove or impute it first."
        )
    integer_valued = not is_text and bool(np.all(raw_target == np.round(raw_target)))
    distinct = len(np.unique(raw_target))

    if task == "regression":
        if is_text:
            raise ValueError(
                f"Dataset file {str(path)!r} has a non-numeric target, which task='regression' "
                f"cannot use; pass task='classification' or task='auto'."
            )
        return "regression"
    if task == "classification":
        if not (is_text or integer_valued):
            raise ValueError(
                f"Dataset file {str(path)!r} has a target with non-integer numbers, which "
                f"task='classification' cannot use as labels; pass task='regression'."
            )
        return "classification"
    if (is_text or integer_valued) and distinct <= MAX_AUTO_CLASSES:
        return "classification"
    if is_text:
        raise ValueError(
            f"Dataset file {str(path)!r} has a text target with {distinct} distinct values, "
            f"more than the {MAX_AUTO_CLASSES} that task='auto' treats as classes; pass "
            f"task='classification' to use them all."
        )
    return "regression"


def _encode_target(
    path: Path, raw_target: np.ndarray, task: Task
) -> tuple[np.ndarray, tuple[str, ...]]:
    if task == "regression":
        return raw_target.astype(np.float64), ()

    classes, labels = np.unique(raw_target, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"Dataset file {str(path)!r} has a single class ({_label_text(classes[0])!r}) in "
            f"its target; classification needs at least two."
        )
    return labels.astype(np.int32), tuple(_label_text(label) for label in classes)


def _label_text(label: object) -> str:
    if isinstance(label, float | np.floating) and float(label).is_integer():
        return str(int(label))
    return str(label)


def _split_indices(
    name: str, labels: np.ndarray, task: Task, seed: int, val_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted train and validation row indices.

    Validation rows number ``round(val_fraction * n)``, at least one. For
    classification they are shared among classes by largest remainder of
    ``val_fraction * class_size``, and every class keeps at least one
    training row.
    """
    n = len(labels)
    n_val = max(1, int(round(val_fraction * n)))
    if n - n_val < 2:
        raise ValueError(
            f"Dataset {name!r} has {n} rows, too few for a train/validation split with "
            f"val_fraction={val_fraction}; the split needs at least 2 training rows and "
            f"1 validation row."
        )

    rng = np.random.default_rng(seed)
    if task == "regression":
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    classes, counts = np.unique(labels, return_counts=True)
    quotas = val_fraction * counts
    per_class = np.minimum(np.floor(quotas).astype(int), counts - 1)
    capacity = counts - 1 - per_class
    remainder = n_val - int(per_class.sum())
    for index in np.argsort(-(quotas - np.floor(quotas)), kind="stable"):
        if remainder <= 0:
            break
        if capacity[index] > 0:
            per_class[index] += 1
            remainder -= 1
    if per_class.sum() == 0:
        raise ValueError(
            f"Dataset {name!r} has {n} rows in {len(classes)} classes, too few for a "
            f"stratified split that keeps one training row per class."
        )

    train_parts, val_parts = [], []
    for label, count in zip(classes, per_class, strict=True):
        rows = rng.permutation(np.flatnonzero(labels == label))
        val_parts.append(rows[:count])
        train_parts.append(rows[count:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))


def _standardize(
    name: str,
    task: Task,
    x: np.ndarray,
    labels: np.ndarray,
    train_index: np.ndarray,
    val_index: np.ndarray,
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...],
) -> Dataset:
    mean = x[train_index].mean(axis=0)
    std = x[train_index].std(axis=0)
    std = np.where(std > 0.0, std, 1.0)
    x = (x - mean) / std

    if task == "regression":
        target_mean = float(labels[train_index].mean())
        target_scale = float(labels[train_index].std())
        if not math.isfinite(target_scale) or target_scale == 0.0:
            target_scale = 1.0
        y = ((labels - target_mean) / target_scale).astype(np.float32)
        num_classes = None
    else:
        target_mean, target_scale = 0.0, 1.0
        y = labels.astype(np.int32)
        num_classes = len(class_names)

    return Dataset(
        name=name,
        task=task,
        x_train=x[train_index].astype(np.float32),
        y_train=y[train_index],
        x_val=x[val_index].astype(np.float32),
        y_val=y[val_index],
        num_classes=num_classes,
        feature_names=feature_names,
        class_names=class_names,
        target_mean=target_mean,
        target_scale=target_scale,
    )
