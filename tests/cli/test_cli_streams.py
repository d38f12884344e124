"""Real subprocesses: results on stdout, progress and notes on stderr, nothing on stderr with -q,
plain progress lines when stderr is a file and a live bar when it is a terminal."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import FAST_TRAIN
from process_support import CLI, run_cli_many

from icipredict.io.synthetic import synthetic_cohort

N = 100


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("streams")
    synthetic_cohort(N, seed=4, outcomes=False).to_csv(folder / "patients.csv", index=False)
    synthetic_cohort(300, seed=5).to_csv(folder / "outcomes.csv", index=False)
    return folder


def _jobs(d: Path) -> dict[str, list[str]]:
    tiny = sum((["--set", s] for s in [*FAST_TRAIN, "tracking.enabled=false", "explain.enabled=false"]), [])
    p, o = str(d / "patients.csv"), str(d / "outcomes.csv")
    return {
        "predict-file": ["predict", "--input", p, "--output", str(d / "a.csv")],
        "predict-file-q": ["predict", "--input", p, "--output", str(d / "b.csv"), "-q"],
        "predict-stdout": ["predict", "--input", p],
        "stream-v": ["predict", "--input", p, "--output", str(d / "c.csv"), "--chunk-size", "40", "-v"],
        "stream-q": ["predict", "--input", p, "--output", str(d / "d.csv"), "--chunk-size", "40", "--quiet"],
        "evaluate-v": ["evaluate", "--input", o, "--n-boot", "50", "-v"],
        "evaluate-q": ["evaluate", "--input", o, "--n-boot", "50", "-q", "--output", str(d / "m.csv")],
        "update": ["update", "--input", o, "--output", str(d / "u1"), "--n-boot", "20", "--no-tracking"],
        "update-q": ["update", "--input", o, "--output", str(d / "u2"), "--n-boot", "20", "--no-tracking", "-q"],
        "synth-stdout": ["synth", "--n", "5"],
        "synth-q": ["synth", "--n", "5", "--output", str(d / "s.csv"), "-q"],
        "validate": ["validate", "--input", p],
        "train": ["train", *tiny, "--output", str(d / "t1")],
        "train-q": ["train", *tiny, "--output", str(d / "t2"), "-q"],
    }


@pytest.fixture(scope="module")
def runs(files) -> dict[str, subprocess.CompletedProcess]:
    return run_cli_many(_jobs(files), cwd=files, timeout=600)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[icipredict]" not in proc.stdout, proc.stdout  # progress never reaches the result
    return proc


@pytest.mark.parametrize("case", ["predict-file-q", "stream-q", "evaluate-q", "update-q", "synth-q"])
def test_quiet_leaves_stderr_empty(runs, case):
    assert _ok(runs[case]).stderr == ""


def test_predict_to_a_file_confirms_on_stderr(runs):
    proc = _ok(runs["predict-file"])
    assert proc.stdout == ""
    assert f"{N} predictions written to" in proc.stderr


def test_predict_to_stdout_is_only_the_table(runs):
    proc = _ok(runs["predict-stdout"])
    table = pd.read_csv(io.StringIO(proc.stdout))
    assert len(table) == N and table.columns[0] == "patient_id"
    assert "written to standard output" in proc.stderr


def test_streaming_progress_is_plain_lines_when_stderr_is_not_a_terminal(runs):
    proc = _ok(runs["stream-v"])
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("[icipredict] predicting:")]
    assert lines[0].startswith(f"[icipredict] predicting: 40/{N} patients (40%)"), proc.stderr
    assert lines[-1].startswith(f"[icipredict] predicting: {N}/{N} patients (100%)") and lines[-1].endswith("done")
    assert "\r" not in proc.stderr and "left" in lines[0]


def test_evaluate_metrics_on_stdout_bootstrap_progress_on_stderr(runs):
    proc = _ok(runs["evaluate-v"])
    assert proc.stdout.startswith("| Cohort | Model |")
    assert "[icipredict] bootstrap (50 resamples):" in proc.stderr and proc.stderr.rstrip().endswith("done")


def test_update_report_on_stdout_progress_on_stderr(runs):
    proc = _ok(runs["update"])
    assert proc.stdout.startswith("method: ") and "updated model bundle written to" in proc.stdout
    assert "[icipredict] " in proc.stderr and "evaluable local patients" in proc.stderr


def test_synth_to_stdout_is_only_the_table(runs):
    proc = _ok(runs["synth-stdout"])
    assert len(pd.read_csv(io.StringIO(proc.stdout))) == 5
    assert proc.stderr.startswith("wrote 5 synthetic patients")


def test_validate_report_is_the_result(runs):
    proc = _ok(runs["validate"])
    assert proc.stdout.splitlines()[0].endswith(f"patients.csv: {N} patients")
    assert proc.stderr == ""


def test_train_metrics_on_stdout_steps_on_stderr(runs):
    loud, quiet = _ok(runs["train"]), _ok(runs["train-q"])
    for proc in (loud, quiet):
        assert "internal-external (each study held out)" in proc.stdout and "model bundle written to" in proc.stdout
    assert "[icipredict] pooled cross-validation fold 1/3" in loud.stderr
    assert "[icipredict]" not in quiet.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal test written for Linux")
def test_a_terminal_gets_a_live_bar(files):
    """stderr on a pseudo-terminal (80 columns): tqdm redraws one line with carriage returns."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        proc = subprocess.run([*CLI, "predict", "--input", str(files / "patients.csv"), "--output",
                               str(files / "tty.csv"), "--chunk-size", "10"], stdout=subprocess.PIPE, stderr=slave,
                              timeout=300, cwd=files)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, screen
    assert "[icipredict] predicting: " in screen and "%|" in screen and f"/{N} [" in screen, screen  # tqdm's bar
    assert "elapsed" not in screen  # not the plain lines
    assert f"{N} predictions written to" in screen
