"""Tests for partial results and resuming: run_compare(resume=True) and compare --resume."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit.compare
import jaxinit.report
from jaxinit.cli import main
from jaxinit.compare import CompareConfig, run_compare
from jaxinit.resume import CHECKPOINT_NAME
from jaxinit.training import _TrainState, load_checkpoint, save_checkpoint

CONFIG = CompareConfig(
    dataset="iris",
    hidden=(8,),
    schemes=("lecun_normal", "glorot_uniform"),
    seeds=2,
    steps=24,
    eval_every=4,
    batch_size=16,
)
CLI_OPTIONS = [
    "--dataset",
    "iris",
    "--hidden",
    "8",
    "--schemes",
    "lecun_normal,glorot_uniform",
    "--seeds",
    "2",
    "--steps",
    "24",
    "--eval-every",
    "4",
    "--batch-size",
    "16",
    "--no-progress",
]

# Entries of results.json that depend on the wall clock or the machine.
UNTIMED = ("elapsed_seconds", "timings_seconds", "versions", "backend")


def _read_json(out_dir):
    return json.loads((out_dir / "results.json").read_text())


def _without_timing(results):
    return {name: value for name, value in results.items() if name not in UNTIMED}


def _environment():
    environment = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join(
        [root, *filter(None, [environment.get("PYTHONPATH")])]
    )
    return environment


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("uninterrupted")
    result = run_compare(CONFIG, progress=False, out_dir=out_dir)
    return result, out_dir


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("interrupted")
    with pytest.raises(KeyboardInterrupt, match="stopped after step 8"):
        run_compare(CONFIG, progress=False, out_dir=out_dir, stop_after_step=8)
    partial = _read_json(out_dir)
    partial_curves = (out_dir / "curves.csv").read_text()
    checkpoint_written = (out_dir / CHECKPOINT_NAME).is_file()
    result = run_compare(CONFIG, progress=False, out_dir=out_dir, resume=True)
    return result, out_dir, partial, partial_curves, checkpoint_written


# Partial files


def test_partial_results_say_incomplete(interrupted):
    _, _, partial, _, checkpoint_written = interrupted
    assert partial["complete"] is False
    assert partial["step_reached"] == 8
    assert partial["steps_logged"] == [0, 4, 8]
    assert partial["config"] == json.loads(json.dumps(CONFIG.to_json()))
    assert len(partial["members"]) == 4
    assert checkpoint_written


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (1.0, [(0, False), (2, False), (4, False), (6, False), (8, True)]),
        (0.0, [(0, False), (8, True)]),
    ],
)
def test_partial_writes_at_logged_steps(share, expected, tmp_path, monkeypatch):
    calls = []
    real_write_results = jaxinit.compare.write_results

    def recording_write_results(path, result, *, complete=True):
        calls.append((int(result.steps[-1]), complete))
        return real_write_results(path, result, complete=complete)

    monkeypatch.setattr(jaxinit.compare, "write_results", recording_write_results)
    monkeypatch.setattr(jaxinit.report, "write_results", recording_write_results)
    monkeypatch.setattr(jaxinit.compare, "_PARTIAL_WRITE_SHARE", share)
    config = CompareConfig(**{**vars(CONFIG), "steps": 8, "eval_every": 2})
    run_compare(config, progress=False, out_dir=tmp_path)
    assert calls == expected


def test_partial_members_match_final_curves(interrupted):
    result, _, partial, _, _ = interrupted
    for member, entry in enumerate(partial["members"]):
        assert entry["val_loss"] == float(result.val_loss[member, 2])
        assert entry["train_loss"] == float(result.train_loss[member, 2])


def test_partial_curves_stop_at_step_reached(interrupted):
    _, _, _, partial_curves, _ = interrupted
    rows = list(csv.DictReader(partial_curves.splitlines()))
    assert len(rows) == 4 * 3
    assert sorted({int(row["step"]) for row in rows}) == [0, 4, 8]


# Resumed run equals an uninterrupted one


def test_resumed_results_equal_uninterrupted(uninterrupted, interrupted):
    _, fresh_dir = uninterrupted
    _, resumed_dir, _, _, _ = interrupted
    fresh = _read_json(fresh_dir)
    resumed = _read_json(resumed_dir)
    assert resumed["complete"] is True
    assert resumed["step_reached"] == 24
    assert _without_timing(resumed) == _without_timing(fresh)


def test_resumed_curves_equal_uninterrupted(uninterrupted, interrupted):
    _, fresh_dir = uninterrupted
    _, resumed_dir, _, _, _ = interrupted
    fresh = (fresh_dir / "curves.csv").read_text()
    resumed = (resumed_dir / "curves.csv").read_text()
    assert resumed == fresh


def test_resumed_arrays_equal_uninterrupted(uninterrupted, interrupted):
    fresh, _ = uninterrupted
    resumed, _, _, _, _ = interrupted
    np.testing.assert_array_equal(resumed.steps, fresh.steps)
    np.testing.assert_array_equal(resumed.train_loss, fresh.train_loss)
    np.testing.assert_array_equal(resumed.val_loss, fresh.val_loss)
    np.testing.assert_array_equal(resumed.val_accuracy, fresh.val_accuracy)
    assert resumed.summaries == fresh.summaries


def test_checkpoint_deleted_when_complete(uninterrupted, interrupted):
    _, fresh_dir = uninterrupted
    _, resumed_dir, _, _, _ = interrupted
    assert not (fresh_dir / CHECKPOINT_NAME).exists()
    assert not (resumed_dir / CHECKPOINT_NAME).exists()
    assert (resumed_dir / "loss_curves.png").is_file()


# Resuming a complete run


def test_resume_complete_run_reads_files(uninterrupted):
    fresh, out_dir = uninterrupted
    before = {path.name: path.read_bytes() for path in out_dir.iterdir()}
    result = run_compare(CONFIG, progress=False, out_dir=out_dir, resume=True)
    after = {path.name: path.read_bytes() for path in out_dir.iterdir()}
    assert after == before
    assert result.summaries == fresh.summaries
    assert result.conclusion == fresh.conclusion
    assert result.elapsed_seconds == pytest.approx(fresh.elapsed_seconds, abs=1e-3)
    np.testing.assert_array_equal(result.val_loss, fresh.val_loss)
    np.testing.assert_array_equal(result.diverged, fresh.diverged)
    assert sorted(result.files) == ["curves", "plot", "results"]


def test_resume_complete_regression_run(tmp_path):
    config = CompareConfig(
        dataset="diabetes", hidden=(4,), schemes=("lecun_normal",), seeds=2, steps=4, eval_every=2
    )
    fresh = run_compare(config, progress=False, out_dir=tmp_path)
    result = run_compare(config, progress=False, out_dir=tmp_path, resume=True)
    assert result.val_accuracy is None
    assert result.summaries == fresh.summaries
    np.testing.assert_array_equal(result.train_loss, fresh.train_loss)


# Rejected resumes


def test_resume_other_config_rejected(uninterrupted):
    _, out_dir = uninterrupted
    other = CompareConfig(**{**vars(CONFIG), "steps": 28, "learning_rate": 0.01})
    message = (
        f"Cannot resume from {str(out_dir)!r}: the saved run has learning_rate=0.001 "
        f"(requested 0.01), steps=24 (requested 28); pass the same settings as the "
        f"interrupted run."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(other, progress=False, out_dir=out_dir, resume=True)


def test_resume_without_out_dir_rejected():
    message = "run_compare got resume=True with out_dir=None; pass the run folder."
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(CONFIG, progress=False, out_dir=None, resume=True)


def test_resume_missing_results_rejected(tmp_path):
    message = f"Cannot resume from {str(tmp_path)!r}: {str(tmp_path / 'results.json')!r} not found"
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(CONFIG, progress=False, out_dir=tmp_path, resume=True)


def test_resume_invalid_json_rejected(tmp_path):
    (tmp_path / "results.json").write_text('{"complete": fal')
    message = f"{str(tmp_path / 'results.json')!r} is not valid JSON (Expecting value"
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(CONFIG, progress=False, out_dir=tmp_path, resume=True)


def test_resume_foreign_json_rejected(tmp_path):
    (tmp_path / "results.json").write_text("[1, 2]")
    message = "has no 'complete' and 'config' entries, so it was not written by 'jaxinit compare'."
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(CONFIG, progress=False, out_dir=tmp_path, resume=True)


def test_resume_missing_checkpoint_rejected(interrupted, tmp_path):
    _, _, partial, _, _ = interrupted
    (tmp_path / "results.json").write_text(json.dumps(partial))
    message = (
        f"Cannot resume from {str(tmp_path)!r}: checkpoint.npz not found; it is written after "
        f"the first logged step, so start the run again."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        run_compare(CONFIG, progress=False, out_dir=tmp_path, resume=True)


# Checkpoint file


def _state(params, opt_state, done=4):
    return _TrainState(
        done=done,
        params=params,
        opt_state=opt_state,
        logged_steps=[0, done],
        train_history=[np.full(2, np.nan), np.array([0.5, 0.25])],
        val_history=[np.array([1.0, 2.0]), np.array([0.75, 0.125])],
        accuracy_history=[np.array([0.0, 0.5]), np.array([1.0, 0.25])],
        diverged=np.array([False, True]),
    )


def test_checkpoint_round_trip(tmp_path):
    params = {"dense": {"kernel": jnp.arange(12.0).reshape(2, 3, 2), "bias": jnp.ones((2, 2))}}
    opt_state = (jnp.array([3, 3], dtype=jnp.int32), {"mu": jnp.full((2, 5), 0.5)})
    path = save_checkpoint(tmp_path / "state.npz", _state(params, opt_state))
    fresh_params = {"dense": {"kernel": jnp.zeros((2, 3, 2)), "bias": jnp.zeros((2, 2))}}
    fresh_opt_state = (jnp.zeros_like(opt_state[0]), {"mu": jnp.zeros((2, 5))})
    loaded = load_checkpoint(path, fresh_params, fresh_opt_state)
    np.testing.assert_array_equal(loaded.params["dense"]["kernel"], params["dense"]["kernel"])
    np.testing.assert_array_equal(loaded.opt_state[0], opt_state[0])
    assert loaded.opt_state[0].dtype == jnp.int32
    assert loaded.done == 4
    assert loaded.logged_steps == [0, 4]
    np.testing.assert_array_equal(loaded.val_history[1], [0.75, 0.125])
    np.testing.assert_array_equal(loaded.diverged, [False, True])
    assert list(tmp_path.iterdir()) == [path]


def test_checkpoint_other_structure_rejected(tmp_path):
    params = {"kernel": jnp.zeros((2, 3))}
    path = save_checkpoint(tmp_path / "state.npz", _state(params, ()))
    message = (
        f"Checkpoint {str(path)!r} does not match the parameters and optimizer state of the "
        f"requested run; start a new run in another folder."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        load_checkpoint(path, {"kernel": jnp.zeros((2, 4))}, ())


def test_checkpoint_other_file_rejected(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, values=np.zeros(3))
    message = f"Checkpoint {str(path)!r} has format version None; expected 1."
    with pytest.raises(ValueError, match=re.escape(message)):
        load_checkpoint(path, {}, ())


# Command line


def test_cli_interrupt_then_resume(uninterrupted, tmp_path, monkeypatch, capsys):
    _, fresh_dir = uninterrupted
    real_run_compare = jaxinit.compare.run_compare

    def interrupted_run(*args, **kwargs):
        return real_run_compare(*args, stop_after_step=12, **kwargs)

    monkeypatch.setattr(jaxinit.compare, "run_compare", interrupted_run)
    assert main(["compare", *CLI_OPTIONS, "--out", str(tmp_path)]) == 130
    error = capsys.readouterr().err
    assert error == (
        f"jaxinit compare: interrupted; partial results are in {tmp_path}, continue the run "
        f"with 'jaxinit compare --resume {tmp_path}' and the same options\n"
    )
    assert _read_json(tmp_path)["step_reached"] == 12

    monkeypatch.setattr(jaxinit.compare, "run_compare", real_run_compare)
    assert main(["compare", *CLI_OPTIONS, "--resume", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"results: {tmp_path / 'results.json'}" in captured.out
    assert _without_timing(_read_json(tmp_path)) == _without_timing(_read_json(fresh_dir))
    assert (tmp_path / "curves.csv").read_text() == (fresh_dir / "curves.csv").read_text()


def test_cli_resume_complete_prints_report(uninterrupted, capsys):
    fresh, out_dir = uninterrupted
    assert main(["compare", *CLI_OPTIONS, "--resume", str(out_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith("iris (classification): MLP hidden=8 relu, adam lr=0.001")
    assert fresh.conclusion in captured.out
    assert f"plot: {out_dir / 'loss_curves.png'}" in captured.out


def test_cli_resume_other_options_exit_2(uninterrupted, capsys):
    _, out_dir = uninterrupted
    status = main(["compare", *CLI_OPTIONS, "--seeds", "3", "--resume", str(out_dir)])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"jaxinit compare: error: Cannot resume from {str(out_dir)!r}: the saved run has "
        f"seeds=2 (requested 3); pass the same settings as the interrupted run.\n"
    )
    assert captured.out == ""


def test_cli_resume_and_other_out_exit_2(tmp_path, capsys):
    arguments = ["compare", *CLI_OPTIONS, "--out", "a", "--resume", str(tmp_path)]
    assert main(arguments) == 2
    assert capsys.readouterr().err == (
        f"jaxinit compare: error: --out a and --resume {tmp_path} name different folders; "
        f"a resumed run writes to the folder it resumes, so pass only --resume.\n"
    )


# A signal from outside


def _start_long_run(out_dir):
    # Far more steps than the run reaches before the signal, so it cannot finish first.
    options = ["--dataset", "iris", "--hidden", "8", "--schemes", "zeros", "--seeds", "2"]
    options += ["--steps", "200000", "--eval-every", "200", "--out", str(out_dir), "--quiet"]
    return subprocess.Popen(
        [sys.executable, "-m", "jaxinit", "compare", *options],
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_partial_step(process, out_dir):
    """Wait until results.json reports a step past 0, or fail after 120 s."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (out_dir / "results.json").is_file():
            if _read_json(out_dir)["step_reached"] > 0:
                return
        time.sleep(0.05)
    pytest.fail(f"no partial results with step_reached > 0: {process.poll()=}")


@pytest.mark.slow
def test_sigint_writes_partial_files_and_exits_130(tmp_path):
    out_dir = tmp_path / "interrupted"
    process = _start_long_run(out_dir)
    try:
        _wait_for_partial_step(process, out_dir)
        process.send_signal(signal.SIGINT)
        _, error = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)

    assert process.returncode == 130
    assert error == (
        f"jaxinit compare: interrupted; partial results are in {out_dir}, continue the run "
        f"with 'jaxinit compare --resume {out_dir}' and the same options\n"
    )
    results = _read_json(out_dir)
    assert results["complete"] is False
    assert results["step_reached"] % 200 == 0
    with (out_dir / "curves.csv").open(newline="") as stream:
        steps = sorted({int(row["step"]) for row in csv.DictReader(stream)})
    assert steps == results["steps_logged"]
    assert (out_dir / CHECKPOINT_NAME).is_file()


@pytest.mark.slow
def test_killed_process_leaves_partial_files(tmp_path):
    out_dir = tmp_path / "killed"
    process = _start_long_run(out_dir)
    try:
        _wait_for_partial_step(process, out_dir)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)

    assert process.returncode == -signal.SIGKILL
    results = _read_json(out_dir)
    assert results["complete"] is False
    assert results["step_reached"] > 0
    assert results["step_reached"] % 200 == 0
    with (out_dir / "curves.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    # curves.csv is written before results.json, so it may be one logged step ahead.
    assert len(rows) >= 2 * len(results["steps_logged"])
    assert (out_dir / CHECKPOINT_NAME).is_file()
