"""Statistics of a comparison run: Student's t quantile, metric and scheme summaries.

`MetricSummary` reduces one metric over members to a mean, a standard
deviation and a 95% confidence interval; `SchemeSummary` collects them per
scheme. `t_critical` computes the t quantile without SciPy.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MetricSummary", "SchemeSummary", "t_critical"]


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
    def of(
        cls, values: np.ndarray, *, lower: float = -math.inf, upper: float = math.inf
    ) -> MetricSummary:
        """Summarize a 1-D array of finite values whose range is ``[lower, upper]``.

        The confidence interval is clipped to that range, so an accuracy's
        interval never passes 1 and a loss's never drops below 0.
        """
        values = np.asarray(values, dtype=np.float64)
        count = int(values.size)
        if count == 0:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if count == 1:
            return cls(mean, math.nan, math.nan, math.nan, 1)
        std = float(values.std(ddof=1))
        half_width = t_critical(0.95, count - 1) * std / math.sqrt(count)
        low = max(mean - half_width, lower)
        high = min(mean + half_width, upper)
        return cls(mean, std, low, high, count)

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


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _summarize(
    seeds: int,
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
        members = slice(index * seeds, (index + 1) * seeds)
        not_diverged = ~diverged[members]
        unranked.append(
            SchemeSummary(
                label=label,
                rank=0,
                scheme_repr=repr(scheme),
                scheme_config=_jsonable_config(scheme),
                members=seeds,
                diverged=int(np.sum(~not_diverged)),
                train_loss=MetricSummary.of(train_loss[members, -1][not_diverged], lower=0.0),
                val_loss=MetricSummary.of(val_loss[members, -1][not_diverged], lower=0.0),
                val_accuracy=(
                    MetricSummary.of(val_accuracy[members, -1][not_diverged], lower=0.0, upper=1.0)
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
        return f"[{summary.val_loss.ci_low:.4f}, {summary.val_loss.ci_high:.4f}]"

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
