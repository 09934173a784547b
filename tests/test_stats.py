"""Tests for jaxinit.stats: the t quantile, metric summaries and the conclusion sentence."""

import math
import re

import numpy as np
import pytest

from jaxinit.stats import MetricSummary, SchemeSummary, _conclusion, t_critical

# t quantile


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 15, 29, 30, 63, 100, 1000, 5001])
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_t_critical_matches_scipy(confidence, df):
    stats = pytest.importorskip("scipy.stats")
    expected = stats.t.ppf(0.5 + confidence / 2, df)
    assert t_critical(confidence, df) == pytest.approx(expected, rel=1e-9)


def test_t_critical_large_df_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    df = 250_000
    assert t_critical(0.95, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-9)


@pytest.mark.parametrize(
    ("confidence", "df", "message"),
    [
        (1.0, 3, "t_critical got confidence=1.0; expected a number in (0, 1)."),
        (0.0, 3, "t_critical got confidence=0.0; expected a number in (0, 1)."),
        (0.95, 0, "t_critical got df=0; expected a positive integer."),
        (0.95, 2.5, "t_critical got df=2.5; expected a positive integer."),
    ],
)
def test_t_critical_bad_arguments(confidence, df, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        t_critical(confidence, df)


# MetricSummary


def test_metric_summary_formula():
    stats = pytest.importorskip("scipy.stats")
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    summary = MetricSummary.of(values)
    std = values.std(ddof=1)
    half = stats.t.ppf(0.975, 4) * std / math.sqrt(5)
    assert summary.count == 5
    assert summary.mean == pytest.approx(4.0)
    assert summary.std == pytest.approx(std)
    assert summary.ci_low == pytest.approx(4.0 - half)
    assert summary.ci_high == pytest.approx(4.0 + half)


def test_metric_summary_one_value():
    summary = MetricSummary.of(np.array([0.25]))
    assert summary.count == 1
    assert summary.mean == 0.25
    assert math.isnan(summary.std)
    assert math.isnan(summary.ci_low)
    assert summary.to_json() == {
        "mean": 0.25,
        "std": None,
        "ci_low": None,
        "ci_high": None,
        "count": 1,
    }


def test_metric_summary_no_values():
    summary = MetricSummary.of(np.array([]))
    assert summary.count == 0
    assert math.isnan(summary.mean)


# Conclusion sentence


def _summary(label, mean, half_width, count=16):
    metric = MetricSummary(mean, 0.1, mean - half_width, mean + half_width, count)
    return SchemeSummary(label, 0, label, None, 16, 16 - count, metric, metric, None)


def test_conclusion_overlap():
    text = _conclusion((_summary("a", 0.10, 0.02), _summary("b", 0.13, 0.02)), seeds=16)
    assert text == (
        "a has the lowest mean validation loss, but its 95% confidence interval [0.0800, 0.1200] "
        "overlaps that of the runner-up b [0.1100, 0.1500], so 16 seeds per scheme do not "
        "separate the two."
    )


def test_conclusion_no_overlap():
    text = _conclusion((_summary("a", 0.10, 0.01), _summary("b", 0.13, 0.01)), seeds=16)
    assert text == (
        "a has the lowest mean validation loss, and its 95% confidence interval [0.0900, 0.1100] "
        "does not overlap that of the runner-up b [0.1200, 0.1400]."
    )


def test_conclusion_all_diverged():
    text = _conclusion((_summary("a", math.nan, math.nan, count=0),), seeds=16)
    assert text.startswith("Every member of every scheme diverged")


def test_conclusion_single_scheme():
    text = _conclusion((_summary("a", 0.1, 0.01), _summary("b", math.nan, math.nan, 0)), 16)
    assert text == "a is the only scheme with members that did not diverge."


def test_metric_interval_clipped_to_range():
    summary = MetricSummary.of(np.array([0.99, 1.0]), lower=0.0, upper=1.0)

    assert summary.ci_high == 1.0
    assert summary.ci_low < summary.mean


def test_metric_interval_unclipped_by_default():
    summary = MetricSummary.of(np.array([0.99, 1.0]))
    half_width = t_critical(0.95, 1) * np.std([0.99, 1.0], ddof=1) / math.sqrt(2)

    assert summary.ci_high == pytest.approx(0.995 + half_width)
