"""Hardening III: SIGTERM (a job scheduler's kill) and SIGHUP (a closed terminal) leave what Ctrl-C leaves.

``train``, ``update`` and ``predict --chunk-size`` run in processes of their own (children of the tests'
template, ``process_support.start_cli``), each over an earlier output of its own; the signal is sent once the
work has started (its first progress line). After it: the command exits 128 + the signal number with one line
saying so, the earlier output is byte-identical, and no temporary (``.partial``) file or folder is left.
``serve`` stops as on Ctrl-C: it says so and exits 0. The runs go in parallel, two at a time, to keep the file
short.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FAST_TRAIN
from process_support import CLI, serve, start_cli, tree_digest

SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}
COMMANDS = ("train", "update", "predict-stream")


def _sets(*settings: str) -> list[str]:
    return sum((["--set", s] for s in settings), [])


def _argv(command: str, folder: Path, model: Path) -> tuple[list[str], str, str]:
    """The command line, the progress text that shows the work has started, and the output it must not harm."""
    if command == "train":
        slow = [s for s in FAST_TRAIN if not s.startswith("evaluation.n_boot")] + ["evaluation.n_boot=20000"]
        return (["train", "-v", "--output", "out", "--force", *_sets(*slow, "tracking.enabled=false")],
                "bootstrap confidence intervals (20000 resamples)", "out")
    if command == "update":
        return (["update", "-v", "--model", str(model), "--input", "local.csv", "--output", "out", "--force",
                 "--n-boot", "20000", "--no-tracking"], "bootstrap (20000 resamples)", "out")
    return (["predict", "-v", "--model", str(model), "--input", "big.csv", "--output", "out.csv", "--chunk-size",
             "50"], "predicting: 50/", "out.csv")


def _run(command: str, signame: str, root: Path, model: Path) -> dict:
    folder = root / f"{command}-{signame}"
    folder.mkdir()
    argv, marker, output = _argv(command, folder, model)
    if output == "out":
        shutil.copytree(model, folder / "out")  # an earlier bundle, replaceable with --force
    else:
        (folder / "out.csv").write_text("earlier predictions\n")
    for name in ("local.csv", "big.csv"):
        os.link(root / name, folder / name)
    before = tree_digest(folder)
    log = folder.parent / f"{command}-{signame}.log"
    with open(log, "wb") as err:
        proc = start_cli(argv, cwd=folder, stderr=err)
    deadline = time.monotonic() + 120
    while marker not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{command} ended or stalled before its work began:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(SIGNALS[signame])
    code = proc.wait(timeout=120)
    return {"folder": folder, "before": before, "code": code, "stderr": log.read_text(errors="replace")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_model):
    from icipredict.io.synthetic import synthetic_cohort

    root = tmp_path_factory.mktemp("signals")
    synthetic_cohort(n=400, seed=5).to_csv(root / "local.csv", index=False)
    synthetic_cohort(n=20_000, seed=3, outcomes=False).to_csv(root / "big.csv", index=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {(c, s): pool.submit(_run, c, s, root, small_model) for c in COMMANDS for s in SIGNALS}
        return {k: f.result() for k, f in jobs.items()}


@pytest.mark.parametrize("signame", list(SIGNALS))
@pytest.mark.parametrize("command", COMMANDS)
def test_stopped_leaves_what_ctrl_c_leaves(runs, command, signame):
    run = runs[(command, signame)]
    assert run["code"] == 128 + SIGNALS[signame], run["stderr"][-2000:]
    assert f"icipredict: error: stopped by {signame}" in run["stderr"] and "Traceback" not in run["stderr"]
    folder = run["folder"]
    assert tree_digest(folder) == run["before"], "the earlier output changed"
    leftovers = [p.name for p in folder.iterdir() if "partial" in p.name or p.name.startswith(".")]
    assert leftovers == [], leftovers


@pytest.mark.parametrize("signame", list(SIGNALS))
def test_serve_stops_on_the_signal(signame, small_model, tmp_path):
    log = tmp_path / "serve.log"
    with serve(lambda port: [*CLI, "serve", "--model", str(small_model), "--port", str(port)], log,
               name="icipredict serve") as served:
        served.proc.send_signal(SIGNALS[signame])
        code = served.proc.wait(timeout=60)
    assert code == 0, log.read_text()[-2000:]
    assert "icipredict: server stopped" in log.read_text()
