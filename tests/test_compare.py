"""Tests for jaxinit.compare: configuration, batch schedule, a tiny end-to-end run, its files."""

import contextlib
import csv
import io
import json
import math
import re

import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit.compare import CompareConfig, format_table, print_report, run_compare
from jaxinit.report import _RichReporter
from jaxinit.training import _batch_indices, _chunk_lengths

HE_CONFIG = '{"name": "variance_scaling", "scale": 2.0, "mode": "fan_in", "distribution": "normal"}'
HE_LABEL = "variance_scaling(scale=2.0, mode='fan_in', distribution='normal')"


class InfiniteKernel:
    """A kernel initializer that fills the kernel with inf, so every member diverges."""

    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.full(shape, jnp.inf, dtype)

    def __repr__(self):
        return "InfiniteKernel()"


TINY = CompareConfig(
    dataset="iris",
    hidden=(16,),
    schemes=("lecun_normal", "zeros", HE_CONFIG, InfiniteKernel()),
    seeds=3,
    steps=24,
    eval_every=8,
    batch_size=16,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("compare")
    result = run_compare(TINY, progress=False, out_dir=out_dir)
    return result, out_dir


@pytest.fixture(scope="module")
def tiny_json(tiny_run):
    _, out_dir = tiny_run
    return json.loads((out_dir / "results.json").read_text())


# CompareConfig


def test_config_defaults():
    config = CompareConfig()
    assert config.dataset == "digits"
    assert config.hidden == (128, 128)
    assert config.seeds == 16
    assert config.schemes == (
        "fan_in_normal",
        "lecun_normal",
        "glorot_uniform",
        "he_normal",
        "orthogonal",
        "keras:uniform",
        "normal",
        "zeros",
    )
    assert config.optimizer == "adam"
    assert config.learning_rate == 1e-3
    assert config.batch_size == 32


def test_config_normalizes_sequences():
    config = CompareConfig(hidden=[4, 5], schemes=["zeros"])
    assert config.hidden == (4, 5)
    assert config.schemes == ("zeros",)


@pytest.mark.parametrize(
    ("steps", "eval_every", "expected"),
    [(450, None, 25), (1000, None, 50), (451, None, 41), (7, None, 1), (100, 30, 30)],
)
def test_config_log_interval(steps, eval_every, expected):
    assert CompareConfig(steps=steps, eval_every=eval_every).log_interval == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seeds": 0}, ValueError, "CompareConfig.seeds got 0; it must be a positive integer."),
        ({"steps": -3}, ValueError, "CompareConfig.steps got -3; it must be a positive integer."),
        (
            {"batch_size": 2.0},
            ValueError,
            "CompareConfig.batch_size got 2.0; it must be a positive integer.",
        ),
        (
            {"hidden": (8, 0)},
            ValueError,
            "CompareConfig.hidden got 0; every hidden width must be a positive integer.",
        ),
        ({"hidden": 8}, TypeError, "CompareConfig.hidden must be a sequence of layer widths"),
        (
            {"activation": "swish"},
            ValueError,
            "CompareConfig.activation='swish' is not supported; expected one of relu, tanh",
        ),
        (
            {"optimizer": "lamb"},
            ValueError,
            "CompareConfig.optimizer='lamb' is not supported; expected one of adam, adamw",
        ),
        ({"task": "x"}, ValueError, "CompareConfig.task='x' is not supported"),
        ({"model": "cnn"}, ValueError, "CompareConfig.model='cnn' is not supported"),
        ({"schemes": ()}, ValueError, "CompareConfig.schemes is empty; name at least one"),
        ({"schemes": "zeros"}, TypeError, "CompareConfig.schemes must be a sequence of schemes"),
        (
            {"learning_rate": float("nan")},
            ValueError,
            "CompareConfig.learning_rate must be a positive finite number, got nan.",
        ),
        (
            {"learning_rate": 0},
            ValueError,
            "CompareConfig.learning_rate must be a positive finite number, got 0.",
        ),
        ({"seed": -1}, ValueError, "CompareConfig.seed must be a non-negative integer, got -1."),
        (
            {"steps": 10, "eval_every": 20},
            ValueError,
            "CompareConfig.eval_every=20 is larger than steps=10; expected at most steps.",
        ),
        (
            {"val_fraction": 1.5},
            ValueError,
            "CompareConfig.val_fraction must be strictly between 0 and 1, got 1.5.",
        ),
        ({"dataset": ""}, TypeError, "CompareConfig.dataset must be a dataset name or file path"),
    ],
)
def test_config_rejects(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        CompareConfig(**kwargs)


# Training schedule


@pytest.mark.parametrize(("steps", "interval"), [(24, 8), (25, 8), (1000, 500), (7, 7), (5, 1)])
def test_chunk_lengths_cover_steps(steps, interval):
    plan = _chunk_lengths(steps, interval)
    assert sum(length for length, _ in plan) == steps
    assert sum(log for _, log in plan) == math.ceil(steps / interval)
    assert all(length <= 256 for length, _ in plan)
    assert plan[-1][1]


def test_chunk_lengths_split_long_interval():
    assert _chunk_lengths(1000, 500) == [(250, False), (250, True), (250, False), (250, True)]


def test_batch_indices_are_epoch_permutations():
    rows = _batch_indices(10, 4, 5, seed=3)
    assert rows.shape == (5, 4)
    flat = rows.reshape(-1)
    np.testing.assert_array_equal(np.sort(flat[:10]), np.arange(10))
    np.testing.assert_array_equal(np.sort(flat[10:20]), np.arange(10))
    np.testing.assert_array_equal(rows, _batch_indices(10, 4, 5, seed=3))
    assert not np.array_equal(rows, _batch_indices(10, 4, 5, seed=4))


# Tiny end-to-end run


def test_tiny_run_ranking(tiny_run):
    result, _ = tiny_run
    means = [summary.val_loss.mean for summary in result.summaries[:-1]]
    assert means == sorted(means)
    assert result.ranking[-1] == "InfiniteKernel()"
    assert [summary.rank for summary in result.summaries] == [1, 2, 3, 4]
    assert set(result.ranking) == {"lecun_normal", "zeros", HE_LABEL, "InfiniteKernel()"}


def test_tiny_run_divergence(tiny_run):
    result, _ = tiny_run
    by_label = {summary.label: summary for summary in result.summaries}
    assert by_label["InfiniteKernel()"].diverged == 3
    assert by_label["InfiniteKernel()"].val_loss.count == 0
    for label in ("lecun_normal", "zeros", HE_LABEL):
        assert by_label[label].diverged == 0
        assert by_label[label].val_loss.count == 3
    np.testing.assert_array_equal(result.diverged, [False] * 9 + [True] * 3)


def test_tiny_run_curves_shape(tiny_run):
    result, _ = tiny_run
    np.testing.assert_array_equal(result.steps, [0, 8, 16, 24])
    assert result.val_loss.shape == (12, 4)
    assert result.train_loss.shape == (12, 4)
    assert result.val_accuracy.shape == (12, 4)
    assert np.all(np.isnan(result.train_loss[:, 0]))
    assert np.all(np.isfinite(result.val_loss[:9]))


def test_tiny_run_summary_matches_members(tiny_run):
    result, _ = tiny_run
    for summary in result.summaries[:-1]:
        index = result.labels.index(summary.label)
        members = result.val_loss[index * 3 : (index + 1) * 3, -1]
        assert summary.val_loss.mean == pytest.approx(members.mean(), rel=1e-6)
        assert summary.val_loss.std == pytest.approx(members.std(ddof=1), rel=1e-6)
        assert summary.val_loss.ci_low <= summary.val_loss.mean <= summary.val_loss.ci_high


def test_tiny_run_results_json(tiny_run, tiny_json):
    result, _ = tiny_run
    data = tiny_json
    assert data["complete"] is True
    assert data["step_reached"] == 24
    assert data["format_version"] == 1
    assert set(data["versions"]) == {"python", "jax", "flax", "optax", "jaxinit"}
    assert data["config"]["schemes"][:3] == ["lecun_normal", "zeros", json.loads(HE_CONFIG)]
    assert data["config"]["hidden"] == [16]
    assert data["dataset"] == {
        "name": "iris",
        "task": "classification",
        "train_rows": 120,
        "val_rows": 30,
        "features": 4,
        "num_classes": 3,
        "target_scale": 1.0,
    }
    assert data["steps_logged"] == [0, 8, 16, 24]
    assert data["ranking"] == list(result.ranking)
    assert data["conclusion"] == result.conclusion
    assert len(data["members"]) == 12
    assert len(data["schemes"]) == 4


def test_tiny_run_json_schemes(tiny_json):
    schemes = {scheme["label"]: scheme for scheme in tiny_json["schemes"]}
    lecun = schemes["lecun_normal"]
    assert lecun["repr"].startswith("VarianceScaling(scale=1.0, mode='fan_in'")
    assert lecun["config"]["name"] == "variance_scaling"
    assert lecun["config"]["distribution"] == "truncated_normal"
    assert lecun["members"] == 3
    assert lecun["diverged"] == 0
    assert lecun["val_loss"]["count"] == 3
    assert lecun["val_loss"]["ci_low"] <= lecun["val_loss"]["mean"] <= lecun["val_loss"]["ci_high"]
    assert lecun["val_accuracy"]["count"] == 3
    assert schemes["zeros"]["config"] == {"name": "zeros"}
    infinite = schemes["InfiniteKernel()"]
    assert infinite["config"] is None
    assert infinite["diverged"] == 3
    assert infinite["val_loss"] == {
        "mean": None,
        "std": None,
        "ci_low": None,
        "ci_high": None,
        "count": 0,
    }


def test_tiny_run_json_members(tiny_run, tiny_json):
    result, _ = tiny_run
    members = tiny_json["members"]
    assert [member["seed_index"] for member in members] == [0, 1, 2] * 4
    assert [member["scheme"] for member in members[::3]] == list(result.labels)
    for index, member in enumerate(members[:9]):
        assert member["diverged"] is False
        assert member["val_loss"] == pytest.approx(float(result.val_loss[index, -1]))
        assert 0.0 <= member["val_accuracy"] <= 1.0
    assert members[9]["diverged"] is True
    assert members[9]["val_loss"] is None


def test_tiny_run_curves_csv(tiny_run):
    result, out_dir = tiny_run
    with (out_dir / "curves.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["scheme", "seed_index", "step", "train_loss", "val_loss", "val_accuracy"]
    assert len(rows) == 1 + 12 * 4
    first = rows[1]
    assert first[:3] == ["lecun_normal", "0", "0"]
    assert first[3] == ""
    assert float(first[4]) == pytest.approx(float(result.val_loss[0, 0]))
    last_finite = rows[4 * 9]
    assert last_finite[:3] == [HE_LABEL, "2", "24"]
    assert float(last_finite[3]) == pytest.approx(float(result.train_loss[8, 3]))
    assert rows[-1][:3] == ["InfiniteKernel()", "2", "24"]
    assert rows[-1][4] == ""


def test_tiny_run_files(tiny_run):
    result, out_dir = tiny_run
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "curves.csv",
        "loss_curves.png",
        "results.json",
    ]
    assert (out_dir / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.files == {
        "results": out_dir / "results.json",
        "curves": out_dir / "curves.csv",
        "plot": out_dir / "loss_curves.png",
    }


def test_tiny_run_table(tiny_run):
    result, _ = tiny_run
    text = format_table(result)
    lines = text.splitlines()
    assert lines[0].split() == [
        "rank",
        "scheme",
        "val",
        "loss",
        "95%",
        "CI",
        "val",
        "accuracy",
        "95%",
        "CI",
        "train",
        "loss",
        "diverged",
    ]
    assert lines[2].startswith(f"1     {result.ranking[0]}")
    assert lines[5].startswith("4     InfiniteKernel()")
    assert lines[5].endswith("3/3")
    assert text.endswith(result.conclusion)


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("regression")
    config = CompareConfig(
        dataset="diabetes", hidden=(8,), schemes=("lecun_normal",), seeds=2, steps=6, eval_every=3
    )
    output = io.StringIO()
    with contextlib.chdir(work_dir), contextlib.redirect_stdout(output):
        result = run_compare(config, progress=True, out_dir=None)
    return result, work_dir, output.getvalue()


def test_regression_run_without_files(regression_run):
    result, work_dir, _ = regression_run
    assert result.val_accuracy is None
    assert result.summaries[0].val_accuracy is None
    assert result.files == {}
    assert list(work_dir.iterdir()) == []
    # Standardized targets: an untrained or barely trained MLP has an MSE near 1.
    assert 0.2 < result.summaries[0].val_loss.mean < 5.0


def test_regression_run_progress_lines(regression_run):
    lines = regression_run[2].splitlines()
    # stdout is not a terminal under pytest, so progress comes as plain lines.
    assert lines[0] == "training 2 members for 6 steps"
    assert lines[1].startswith("step 3/6: lowest validation loss ")
    assert lines[2].startswith("step 6/6: lowest validation loss ")
    assert ", 0 diverged, " in lines[2]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("schemes", "error", "message"),
    [
        (("no_such_scheme",), ValueError, "unknown initializer name 'no_such_scheme'"),
        (("zeros", "zeros"), ValueError, "Scheme 'zeros' is listed twice; list each scheme once."),
        (('{"name": "normal",',), ValueError, 'Scheme \'{"name": "normal",\' is not a valid JSON'),
        (("[1, 2]",), ValueError, "get: a JSON config must be an object such as"),
        ((3,), TypeError, "Scheme 3 is a int; expected a registry name, a config mapping"),
    ],
)
def test_bad_schemes(schemes, error, message):
    config = CompareConfig(dataset="iris", schemes=schemes, seeds=1, steps=1)
    with pytest.raises(error, match=re.escape(message)):
        run_compare(config, progress=False, out_dir=None)


def test_batch_size_larger_than_train_split():
    config = CompareConfig(dataset="iris", schemes=("zeros",), batch_size=500, steps=1)
    with pytest.raises(ValueError, match=re.escape("CompareConfig.batch_size=500 is larger")):
        run_compare(config, progress=False, out_dir=None)


def test_run_compare_rejects_other_config():
    with pytest.raises(TypeError, match="run_compare expects a CompareConfig, got dict."):
        run_compare({"dataset": "iris"}, progress=False, out_dir=None)


@pytest.mark.slow
def test_zeros_ranked_below_lecun_on_digits():
    config = CompareConfig(schemes=("zeros", "lecun_normal"), seeds=4, steps=200)
    result = run_compare(config, progress=False, out_dir=None)
    assert result.ranking == ("lecun_normal", "zeros")
    lecun, zeros = result.summaries
    # A zero kernel in a ReLU MLP gets zero gradients, so only the output bias
    # learns and the loss stays near log(10) for 10 balanced classes.
    assert zeros.val_loss.mean == pytest.approx(math.log(10), abs=0.01)
    assert lecun.val_loss.mean < 0.5
    assert lecun.val_accuracy.mean > 0.85
    assert lecun.val_loss.ci_high < zeros.val_loss.ci_low


class _TerminalBuffer(io.StringIO):
    """A text buffer that claims to be a terminal, so print_report uses rich."""

    def isatty(self):
        return True


def test_print_report_plain_when_not_terminal(tiny_run):
    result, out_dir = tiny_run
    stream = io.StringIO()
    print_report(result, file=stream)
    text = stream.getvalue()
    assert text.startswith("iris (classification): MLP hidden=16 relu, adam lr=0.001, 24 steps")
    assert format_table(result) in text
    assert text.endswith(f"plot: {out_dir / 'loss_curves.png'}\n")


def test_print_report_rich_on_terminal(tiny_run):
    pytest.importorskip("rich")
    result, out_dir = tiny_run
    stream = _TerminalBuffer()
    print_report(result, file=stream)
    text = stream.getvalue()
    assert "┃" in text
    # rich fits the table to 80 columns here, so long labels wrap; counts do not.
    assert "3/3" in text
    assert "0/3" in text
    assert "mean ± std over non-diverged members" in text
    assert text.endswith(f"plot: {out_dir / 'loss_curves.png'}\n")


def test_rich_reporter_updates():
    pytest.importorskip("rich")
    reporter = _RichReporter(total=10, members=3)
    with reporter:
        reporter.update(5)
        reporter.update(10, np.array([0.5, np.nan, 0.25]), np.array([False, True, False]))
    task = reporter.progress.tasks[0]
    assert task.completed == 10
    assert task.fields["status"] == "lowest val loss 0.2500, 1 diverged"
