"""Compare initialization schemes by training one model under each, many seeds at once.

`run_compare` trains an MLP on a real dataset (see `jaxinit.data`) under
several schemes with several seeds each. Every scheme's parameters are sampled
with `jaxinit.ensemble.init_many`, all schemes x seeds are stacked on one axis,
and one compiled training step (`jaxinit.ensemble.make_train_step`) trains
them together on the same minibatches in the same order. The result ranks the
schemes by mean validation loss with 95% confidence intervals, and
`run_compare` writes ``results.json``, ``curves.csv`` and ``loss_curves.png``.

The scheme under test is the ``kernel_init`` of every ``Dense`` layer. Biases
start at zero for every scheme, so only the kernels differ between schemes.
"""

from __future__ import annotations

import csv
import dataclasses
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxinit.data import Dataset, load_dataset

# TODO: split this module (about 1250 lines) into the run itself, the statistics
# (t_critical, MetricSummary) and the report writers (JSON, CSV, plot, table).
__all__ = [
    "DEFAULT_SCHEMES",
    "MLP",
    "CompareConfig",
    "CompareResult",
    "MetricSummary",
    "SchemeSummary",
    "format_table",
    "print_report",
    "run_compare",
    "t_critical",
    "write_curves",
    "write_results",
]

logger = logging.getLogger(__name__)

DEFAULT_SCHEMES = (
    "fan_in_normal",
    "lecun_normal",
    "glorot_uniform",
    "he_normal",
    "orthogonal",
    "keras:uniform",
    "normal",
    "zeros",
)

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": jnp.tanh,
    "gelu": nn.gelu,
    "sigmoid": nn.sigmoid,
    "silu": nn.silu,
    "leaky_relu": nn.leaky_relu,
    "selu": nn.selu,
    "elu": nn.elu,
}

OPTIMIZERS: dict[str, Callable[[float], optax.GradientTransformation]] = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "sgd": optax.sgd,
    "rmsprop": optax.rmsprop,
}

# Maximum steps in one lax.scan dispatch. Longer logging intervals are split.
_MAX_STEPS_PER_CALL = 256

# Number of points on the curves when eval_every is left to the default.
_DEFAULT_LOG_POINTS = 20

RESULTS_FORMAT_VERSION = 1


class MLP(nn.Module):
    """A multilayer perceptron whose Dense kernels all use one initializer.

    ``Dense(hidden[0]) -> activation -> ... -> Dense(out_features)``, with
    ``kernel_init`` for every kernel and zeros for every bias.

    Attributes:
        hidden: widths of the hidden layers; empty for a linear model.
        out_features: width of the output layer (classes, or 1 for regression).
        activation: a key of `ACTIVATIONS`, applied after each hidden layer.
        kernel_init: initializer of every kernel, called as
            ``kernel_init(key, (fan_in, fan_out), dtype)``.
    """

    hidden: tuple[int, ...]
    out_features: int
    activation: str = "relu"
    kernel_init: Callable[..., jax.Array] = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        activation = ACTIVATIONS[self.activation]
        for width in self.hidden:
            dense = nn.Dense(width, kernel_init=self.kernel_init, bias_init=nn.initializers.zeros)
            x = activation(dense(x))
        output = nn.Dense(
            self.out_features, kernel_init=self.kernel_init, bias_init=nn.initializers.zeros
        )
        return output(x)


@dataclass(frozen=True)
class CompareConfig:
    """Settings of one comparison run; every field has a default.

    Attributes:
        dataset: a bundled dataset name (see `jaxinit.data.list_datasets`) or
            the path of a ``.npz``/``.csv`` file. Default ``"digits"``.
        target: target column of a ``.csv`` file (label array of a ``.npz``).
        task: ``"auto"``, ``"classification"`` or ``"regression"``.
        model: the model family; only ``"mlp"`` exists.
        hidden: hidden layer widths, default ``(128, 128)``.
        activation: one of relu, tanh, gelu, sigmoid, silu, leaky_relu, selu,
            elu.
        schemes: schemes to compare. Each is a registry name such as
            ``"he_normal"``, a config mapping such as ``{"name":
            "variance_scaling", "scale": 2.0}``, a JSON object string of such a
            config, or an initializer object.
        seeds: members (independent initializations) per scheme.
        steps: optimizer steps for every member. The default, 450, is 10
            epochs of digits at batch size 32. On digits it separates the
            variance-scaling schemes from ``normal`` (std 0.01) and ``zeros``.
            The whole default run (``jaxinit compare``, compilation included)
            used about 50 s of CPU time. On two CPU cores shared with other
            jobs it took 52 s of wall time at load 3.5 and 101 s at load 8.
        batch_size: rows per minibatch; every member sees the same minibatches.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (plain, no momentum) or
            ``"rmsprop"``, built by Optax with ``learning_rate`` and Optax's
            other defaults.
        learning_rate: the optimizer's learning rate.
        seed: seeds the member keys, the data split and the minibatch order.
        eval_every: steps between two logged points of the curves; ``None``
            logs about 20 points (see `log_interval`).
        val_fraction: fraction of the rows held out for validation.
    """

    dataset: str = "digits"
    target: str | None = None
    task: Literal["auto", "classification", "regression"] = "auto"
    model: Literal["mlp"] = "mlp"
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    schemes: tuple[Any, ...] = DEFAULT_SCHEMES
    seeds: int = 16
    steps: int = 450
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    seed: int = 0
    eval_every: int | None = None
    val_fraction: float = 0.2

    def __post_init__(self) -> None:
        if isinstance(self.dataset, Path):
            object.__setattr__(self, "dataset", str(self.dataset))
        if not isinstance(self.dataset, str) or not self.dataset:
            raise TypeError(
                f"CompareConfig.dataset must be a dataset name or file path, got {self.dataset!r}."
            )
        if self.target is not None and not isinstance(self.target, str):
            raise TypeError(
                f"CompareConfig.target must be a column name or None, got {self.target!r}."
            )
        _check_choice("task", self.task, ("auto", "classification", "regression"))
        _check_choice("model", self.model, ("mlp",))
        _check_choice("activation", self.activation, tuple(ACTIVATIONS))
        _check_choice("optimizer", self.optimizer, tuple(OPTIMIZERS))

        if isinstance(self.hidden, int | str) or not isinstance(self.hidden, Sequence):
            raise TypeError(
                f"CompareConfig.hidden must be a sequence of layer widths, got {self.hidden!r}."
            )
        for width in self.hidden:
            _check_positive_int("hidden", width, "every hidden width")
        object.__setattr__(self, "hidden", tuple(int(width) for width in self.hidden))

        if isinstance(self.schemes, str | Mapping) or not isinstance(self.schemes, Sequence):
            raise TypeError(
                f"CompareConfig.schemes must be a sequence of schemes, got {self.schemes!r}; "
                f"wrap a single scheme in a tuple."
            )
        if not self.schemes:
            raise ValueError("CompareConfig.schemes is empty; name at least one scheme.")
        object.__setattr__(self, "schemes", tuple(self.schemes))

        for name in ("seeds", "steps", "batch_size"):
            _check_positive_int(name, getattr(self, name))
        if self.eval_every is not None:
            _check_positive_int("eval_every", self.eval_every)
            if self.eval_every > self.steps:
                raise ValueError(
                    f"CompareConfig.eval_every={self.eval_every} is larger than "
                    f"steps={self.steps}; expected at most steps."
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(
                f"CompareConfig.seed must be a non-negative integer, got {self.seed!r}."
            )
        if (
            isinstance(self.learning_rate, bool)
            or not isinstance(self.learning_rate, int | float)
            or not math.isfinite(self.learning_rate)
            or self.learning_rate <= 0
        ):
            raise ValueError(
                f"CompareConfig.learning_rate must be a positive finite number, "
                f"got {self.learning_rate!r}."
            )
        if not isinstance(self.val_fraction, int | float) or not 0 < self.val_fraction < 1:
            raise ValueError(
                f"CompareConfig.val_fraction must be strictly between 0 and 1, "
                f"got {self.val_fraction!r}."
            )

    @property
    def log_interval(self) -> int:
        """Steps between logged points: ``eval_every``, or a default near steps / 20.

        The default prefers a divisor of ``steps`` that gives 10 to 40 points,
        the count nearest 20, because a shorter final interval costs one more
        compilation of the training step.
        """
        if self.eval_every is not None:
            return self.eval_every
        candidates = [
            interval
            for interval in range(1, self.steps + 1)
            if self.steps % interval == 0 and 10 <= self.steps // interval <= 40
        ]
        if candidates:
            return min(
                candidates,
                key=lambda interval: abs(self.steps // interval - _DEFAULT_LOG_POINTS),
            )
        return max(1, self.steps // _DEFAULT_LOG_POINTS)

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON-compatible values (schemes as configs)."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        values["schemes"] = [_scheme_to_json(scheme) for scheme in self.schemes]
        return values


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(
            f"CompareConfig.{name}={value!r} is not supported; expected one of "
            f"{', '.join(choices)}."
        )


def _check_positive_int(name: str, value: object, subject: str = "it") -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"CompareConfig.{name} got {value!r}; {subject} must be a positive integer."
        )


def _scheme_to_json(scheme: Any) -> Any:
    if isinstance(scheme, str):
        try:
            return json.loads(scheme) if scheme.lstrip().startswith("{") else scheme
        except json.JSONDecodeError:
            return scheme
    if isinstance(scheme, Mapping):
        return dict(scheme)
    return _jsonable_config(scheme)


@dataclass(frozen=True)
class MetricSummary:
    """Mean, spread and 95% confidence interval of one metric over members.

    The interval is ``mean -/+ t * std / sqrt(count)`` with ``std`` the sample
    standard deviation (``ddof=1``) and ``t`` the 0.975 quantile of Student's
    t distribution with ``count - 1`` degrees of freedom (see `t_critical`).
    With ``count == 1`` the std and interval are NaN. With ``count == 0``
    every value is NaN.
    """

    mean: float
    std: float
    ci_low: float
    ci_high: float
    count: int

    @classmethod
    def of(cls, values: np.ndarray) -> MetricSummary:
        """Summarize a 1-D array of finite values."""
        values = np.asarray(values, dtype=np.float64)
        count = int(values.size)
        if count == 0:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if count == 1:
            return cls(mean, math.nan, math.nan, math.nan, 1)
        std = float(values.std(ddof=1))
        half_width = t_critical(0.95, count - 1) * std / math.sqrt(count)
        return cls(mean, std, mean - half_width, mean + half_width, count)

    def to_json(self) -> dict[str, Any]:
        """Return the fields with NaN written as ``None``."""
        return {name: _json_float(value) for name, value in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class SchemeSummary:
    """Final metrics of one scheme over its non-diverged members.

    Attributes:
        label: the scheme as the user named it; unique within a run.
        rank: 1 for the lowest mean validation loss; schemes whose members
            all diverged come last.
        scheme_repr: the initializer's ``repr``.
        scheme_config: the initializer's ``jaxinit.registry.to_config``, or
            ``None`` for an initializer from outside the registry.
        members: members trained (the ``seeds`` setting).
        diverged: members whose loss became NaN or infinite.
        train_loss: mean minibatch loss over the last logging interval.
        val_loss: loss on the full validation split after the last step.
        val_accuracy: accuracy on the validation split; ``None`` for regression.
    """

    label: str
    rank: int
    scheme_repr: str
    scheme_config: Any
    members: int
    diverged: int
    train_loss: MetricSummary
    val_loss: MetricSummary
    val_accuracy: MetricSummary | None

    def to_json(self) -> dict[str, Any]:
        """Return the summary as JSON-compatible values."""
        return {
            "label": self.label,
            "rank": self.rank,
            "repr": self.scheme_repr,
            "config": self.scheme_config,
            "members": self.members,
            "diverged": self.diverged,
            "train_loss": self.train_loss.to_json(),
            "val_loss": self.val_loss.to_json(),
            "val_accuracy": None if self.val_accuracy is None else self.val_accuracy.to_json(),
        }


@dataclass(frozen=True, eq=False)
class CompareResult:
    """Everything a comparison run measured.

    Members are ordered scheme by scheme in the order of ``config.schemes``:
    member ``s * config.seeds + j`` is seed ``j`` of scheme ``s``.

    Attributes:
        config: the settings of the run.
        dataset: the loaded dataset.
        labels: scheme labels in the order of ``config.schemes``.
        summaries: one `SchemeSummary` per scheme, best first.
        steps: the logged steps, shape ``(points,)``, starting at 0.
        train_loss: mean minibatch loss over the interval before each logged
            step, shape ``(members, points)``; NaN at step 0.
        val_loss: validation loss at each logged step, ``(members, points)``.
        val_accuracy: validation accuracy, ``(members, points)``, or ``None``
            for regression.
        diverged: whether each member diverged, shape ``(members,)``.
        conclusion: one sentence on whether the best scheme's interval
            overlaps the runner-up's.
        elapsed_seconds: wall time of the run from start to summaries,
            compilation included, writing files excluded.
        timings: wall time in seconds of the phases ``load`` (schemes and
            dataset), ``init`` (sampling members, compilation included) and
            ``train`` (training and evaluation, compilation included).
        files: paths of the files written, by kind; empty without ``out_dir``.
    """

    config: CompareConfig
    dataset: Dataset
    labels: tuple[str, ...]
    summaries: tuple[SchemeSummary, ...]
    steps: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray | None
    diverged: np.ndarray
    conclusion: str
    elapsed_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ranking(self) -> tuple[str, ...]:
        """Scheme labels, best first."""
        return tuple(summary.label for summary in self.summaries)

    def member_scheme(self, member: int) -> tuple[str, int]:
        """Return the scheme label and seed index of a member."""
        seeds = self.config.seeds
        return self.labels[member // seeds], member % seeds


def t_critical(confidence: float, df: int) -> float:
    """Return ``t`` with ``P(|T| <= t) = confidence`` for Student's t with ``df`` degrees.

    For a 95% interval this is the 0.975 quantile, e.g. 2.262 for ``df=9``.
    For integer degrees of freedom, ``P(|T| <= t)`` has a closed form: a
    finite sum of powers of ``cos(theta)`` with ``theta = atan(t / sqrt(df))``
    (Abramowitz and Stegun, Handbook of Mathematical Functions, 1964, formulas
    26.7.3 and 26.7.4). This function inverts it by bisection, so it needs no
    SciPy. Above 100000 degrees of freedom it uses the normal quantile with
    the first Cornish-Fisher term, ``z + (z**3 + z) / (4 * df)``.

    Args:
        confidence: two-sided coverage, strictly between 0 and 1.
        df: degrees of freedom, a positive integer.

    Returns:
        The critical value as a float, accurate to about 1e-12.

    Raises:
        ValueError: if ``confidence`` or ``df`` is out of range.

    Example:
        >>> round(t_critical(0.95, 9), 3)
        2.262
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"t_critical got confidence={confidence!r}; expected a number in (0, 1).")
    if isinstance(df, bool) or not isinstance(df, int | np.integer) or df < 1:
        raise ValueError(f"t_critical got df={df!r}; expected a positive integer.")
    df = int(df)

    if df > 100_000:
        z = _normal_quantile(0.5 + confidence / 2)
        return z + (z**3 + z) / (4 * df)

    low, high = 0.0, 1.0
    while _t_central_probability(high, df) < confidence:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if _t_central_probability(middle, df) < confidence:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return 0.5 * (low + high)


def _t_central_probability(t: float, df: int) -> float:
    """Return ``P(|T| <= t)`` for Student's t with integer ``df`` (A&S 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    cos_squared = cos * cos
    if df % 2 == 1:
        if df == 1:
            return 2.0 * theta / math.pi
        term = cos
        total = term
        for k in range(1, (df - 1) // 2):
            term *= cos_squared * (2 * k) / (2 * k + 1)
            total += term
        return 2.0 / math.pi * (theta + sin * total)
    term = 1.0
    total = term
    for k in range(1, df // 2):
        term *= cos_squared * (2 * k - 1) / (2 * k)
        total += term
    return sin * total


def _normal_quantile(probability: float) -> float:
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if 0.5 * math.erfc(-middle / math.sqrt(2.0)) < probability:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def run_compare(
    config: CompareConfig | None = None,
    *,
    progress: bool = True,
    out_dir: str | Path | None = "jaxinit-compare",
) -> CompareResult:
    """Train the configured model under every scheme and seed, and rank the schemes.

    The run resolves the schemes, loads the dataset and samples each scheme's
    members with ``init_many`` from the keys ``member_keys(config.seed,
    config.seeds)``. Every scheme uses the same keys, so seed ``j`` of two
    schemes shares its key. All members are stacked and trained by one
    compiled step on the same minibatches: the training rows are reshuffled
    each epoch from ``config.seed`` and cut into batches of ``batch_size``, and
    a batch may straddle two epochs. Every ``config.log_interval`` steps, and
    at steps 0 and ``steps``, the validation loss and accuracy of every member
    are computed on the full validation split.

    A member whose loss or gradient becomes NaN or infinite is frozen by
    ``make_train_step`` and counted as diverged; the summaries use the other
    members. Classification uses softmax cross-entropy; regression uses the
    mean squared error of standardized targets (see `jaxinit.data.Dataset`).

    Args:
        config: the settings; ``None`` uses `CompareConfig` defaults (digits,
            8 schemes x 16 seeds).
        progress: show a progress bar (rich, on a terminal) or a few plain
            progress lines on stdout (otherwise).
        out_dir: folder for ``results.json``, ``curves.csv`` and
            ``loss_curves.png``, created if needed; ``None`` writes nothing.

    Returns:
        A `CompareResult`.

    Raises:
        ValueError: for an unknown scheme, a malformed scheme config, a
            dataset that cannot be loaded, or a ``batch_size`` larger than
            the training split.
        TypeError: for a scheme of the wrong kind.
        ImportError: for a bundled dataset without scikit-learn.

    Example:
        >>> result = run_compare(
        ...     CompareConfig(dataset="iris", schemes=("he_normal", "zeros"), seeds=2, steps=20),
        ...     progress=False,
        ...     out_dir=None,
        ... )
        >>> result.ranking
        ('he_normal', 'zeros')
    """
    from jaxinit import ensemble

    config = CompareConfig() if config is None else config
    if not isinstance(config, CompareConfig):
        raise TypeError(f"run_compare expects a CompareConfig, got {type(config).__name__}.")
    started = time.perf_counter()

    labels, schemes = _resolve_schemes(config.schemes)
    dataset = load_dataset(
        config.dataset,
        target=config.target,
        task=config.task,
        seed=config.seed,
        val_fraction=config.val_fraction,
    )
    n_train = len(dataset.y_train)
    if config.batch_size > n_train:
        raise ValueError(
            f"CompareConfig.batch_size={config.batch_size} is larger than the {n_train} "
            f"training rows of {dataset.name!r}; expected at most {n_train}."
        )
    timings = {"load": time.perf_counter() - started}
    logger.info(
        "comparing %d schemes x %d seeds on %r for %d steps",
        len(schemes),
        config.seeds,
        dataset.name,
        config.steps,
    )

    out_features = dataset.num_classes if dataset.task == "classification" else 1
    models = [
        MLP(config.hidden, out_features, config.activation, kernel_init=scheme)
        for scheme in schemes
    ]
    keys = ensemble.member_keys(config.seed, config.seeds)
    sample = jnp.zeros((1, dataset.num_features), jnp.float32)
    # One init_many call per scheme: a single program for all schemes compiled
    # no faster and deadlocked in XLA:CPU with orthogonal among eight schemes
    # x 16 members (jax 0.10.2, two CPU cores).
    per_scheme = [ensemble.init_many(model.init, keys, sample) for model in models]
    params = jax.tree.map(lambda *leaves: jnp.concatenate(leaves, axis=0), *per_scheme)
    optimizer = OPTIMIZERS[config.optimizer](config.learning_rate)
    opt_state = jax.block_until_ready(ensemble.init_opt_state(optimizer, params))
    timings["init"] = time.perf_counter() - started - timings["load"]

    loss_fn = _make_loss(models[0].apply, dataset.task)
    evaluate = _make_evaluate(models[0].apply, dataset.task)
    curves = _train(
        config, dataset, ensemble, loss_fn, optimizer, evaluate, params, opt_state, progress
    )
    steps, train_loss, val_loss, val_accuracy, diverged = curves
    timings["train"] = time.perf_counter() - started - timings["load"] - timings["init"]
    logger.info(
        "loaded data in %.1f s, sampled members in %.1f s, trained in %.1f s",
        timings["load"],
        timings["init"],
        timings["train"],
    )

    summaries = _summarize(config, labels, schemes, train_loss, val_loss, val_accuracy, diverged)
    result = CompareResult(
        config=config,
        dataset=dataset,
        labels=labels,
        summaries=summaries,
        steps=steps,
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=val_accuracy if dataset.task == "classification" else None,
        diverged=diverged,
        conclusion=_conclusion(summaries, config.seeds),
        elapsed_seconds=time.perf_counter() - started,
        timings=timings,
    )
    if out_dir is not None:
        result = dataclasses.replace(result, files=_write_outputs(result, Path(out_dir)))
    return result


def _resolve_schemes(entries: tuple[Any, ...]) -> tuple[tuple[str, ...], list[Any]]:
    from jaxinit.registry import get as get_scheme

    labels: list[str] = []
    schemes: list[Any] = []
    for entry in entries:
        if isinstance(entry, str) and entry.lstrip().startswith("{"):
            try:
                entry = json.loads(entry)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"Scheme {entry!r} is not a valid JSON object: {error.msg} at character "
                    f"{error.pos}."
                ) from error

        if isinstance(entry, str):
            label, scheme = entry.strip(), get_scheme(entry.strip())
        elif isinstance(entry, Mapping):
            label, scheme = _config_label(entry), get_scheme(dict(entry))
        elif callable(entry):
            label, scheme = repr(entry), entry
        else:
            raise TypeError(
                f"Scheme {entry!r} is a {type(entry).__name__}; expected a registry name, a "
                f"config mapping, a JSON object string or an initializer."
            )

        if label in labels:
            raise ValueError(f"Scheme {label!r} is listed twice; list each scheme once.")
        labels.append(label)
        schemes.append(scheme)
    return tuple(labels), schemes


def _config_label(config: Mapping[str, Any]) -> str:
    name = config.get("name", "?")
    arguments = ", ".join(f"{key}={value!r}" for key, value in config.items() if key != "name")
    return f"{name}({arguments})"


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    members = jax.tree.leaves(params)[0].shape[0]
    x_val = jnp.asarray(dataset.x_val)
    y_val = jnp.asarray(dataset.y_val)
    rows = _batch_indices(len(dataset.y_train), config.batch_size, config.steps, config.seed)
    step_functions: dict[int, Callable[..., Any]] = {}

    val_loss, val_accuracy = evaluate(params, x_val, y_val)
    logged_steps = [0]
    train_history = [np.full(members, np.nan)]
    val_history = [np.asarray(val_loss)]
    accuracy_history = [np.asarray(val_accuracy)]
    diverged = np.zeros(members, dtype=bool)
    window: list[np.ndarray] = []

    reporter = _make_reporter(progress, config.steps, members)
    done = 0
    with reporter:
        for length, log_here in _chunk_lengths(config.steps, config.log_interval):
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
            logged_steps.append(done)
            train_history.append(np.concatenate(window, axis=1).mean(axis=1))
            val_history.append(np.asarray(val_loss))
            accuracy_history.append(np.asarray(val_accuracy))
            window = []
            reporter.update(done, val_history[-1], diverged)

    final_val = val_history[-1]
    diverged |= ~np.isfinite(final_val)
    return (
        np.asarray(logged_steps),
        np.stack(train_history, axis=1),
        np.stack(val_history, axis=1),
        np.stack(accuracy_history, axis=1),
        diverged,
    )


def _summarize(
    config: CompareConfig,
    labels: tuple[str, ...],
    schemes: list[Any],
    train_loss: np.ndarray,
    val_loss: np.ndarray,
    val_accuracy: np.ndarray,
    diverged: np.ndarray,
) -> tuple[SchemeSummary, ...]:
    classification = bool(np.any(np.isfinite(val_accuracy)))
    unranked = []
    for index, (label, scheme) in enumerate(zip(labels, schemes, strict=True)):
        members = slice(index * config.seeds, (index + 1) * config.seeds)
        not_diverged = ~diverged[members]
        unranked.append(
            SchemeSummary(
                label=label,
                rank=0,
                scheme_repr=repr(scheme),
                scheme_config=_jsonable_config(scheme),
                members=config.seeds,
                diverged=int(np.sum(~not_diverged)),
                train_loss=MetricSummary.of(train_loss[members, -1][not_diverged]),
                val_loss=MetricSummary.of(val_loss[members, -1][not_diverged]),
                val_accuracy=(
                    MetricSummary.of(val_accuracy[members, -1][not_diverged])
                    if classification
                    else None
                ),
            )
        )

    def order(item: tuple[int, SchemeSummary]) -> tuple[bool, float, int]:
        index, summary = item
        mean = summary.val_loss.mean
        return (summary.val_loss.count == 0, mean if math.isfinite(mean) else math.inf, index)

    ranked = sorted(enumerate(unranked), key=order)
    return tuple(
        dataclasses.replace(summary, rank=rank) for rank, (_, summary) in enumerate(ranked, start=1)
    )


def _jsonable_config(scheme: Any) -> Any:
    """Return ``to_config(scheme)``, or ``None`` for a scheme from outside the registry."""
    from jaxinit.registry import to_config

    try:
        config = to_config(scheme)
        json.dumps(config)
    except (TypeError, ValueError):
        return None
    return config


def _conclusion(summaries: tuple[SchemeSummary, ...], seeds: int) -> str:
    ranked = [summary for summary in summaries if summary.val_loss.count > 0]
    if not ranked:
        return (
            "Every member of every scheme diverged, so no scheme can be ranked; "
            "try a lower learning rate."
        )
    best = ranked[0]
    if len(ranked) == 1:
        return f"{best.label} is the only scheme with members that did not diverge."
    runner_up = ranked[1]
    if best.val_loss.count < 2 or runner_up.val_loss.count < 2:
        return (
            f"{best.label} has the lowest mean validation loss, but a confidence interval "
            f"needs at least 2 non-diverged members per scheme."
        )

    def interval(summary: SchemeSummary) -> str:
        return f"[{summary.val_loss.ci_low:.4g}, {summary.val_loss.ci_high:.4g}]"

    overlap = best.val_loss.ci_high >= runner_up.val_loss.ci_low
    if overlap:
        return (
            f"{best.label} has the lowest mean validation loss, but its 95% confidence "
            f"interval {interval(best)} overlaps that of the runner-up {runner_up.label} "
            f"{interval(runner_up)}, so {seeds} seeds per scheme do not separate the two."
        )
    return (
        f"{best.label} has the lowest mean validation loss, and its 95% confidence interval "
        f"{interval(best)} does not overlap that of the runner-up {runner_up.label} "
        f"{interval(runner_up)}."
    )


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


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


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


# TODO: write results with complete=False after each logged step and add a --resume
# that continues from them; today results.json is written once, after training.
def results_to_json(result: CompareResult, *, complete: bool = True) -> dict[str, Any]:
    """Return the contents of ``results.json`` for a result.

    ``complete`` is stored as is, so a writer of partial results (after each
    logged step) can mark them as unfinished.
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


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=120)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
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
