"""The tests' forked CLI runs (``process_support.run_cli``, ``tests/process_template.py``) behave as a freshly
started ``python -m icipredict.cli``: the same output, errors and exit codes, the caller's working directory,
environment and umask."""

from __future__ import annotations

import os
import stat

import pytest
from process_support import run_cli, run_cli_exec

from icipredict.io.synthetic import synthetic_cohort


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    synthetic_cohort(12, seed=3, outcomes=False).to_csv(root / "patients.csv", index=False)
    (root / "bad.csv").write_text("patient_id,pdl1_tps\na,250\n")
    return root


@pytest.mark.parametrize("args", [
    ["predict", "--input", "patients.csv"],            # the table on stdout, a note on stderr
    ["validate", "--input", "bad.csv"],                # a refused value: exit 2, one line
    ["predict", "--input", "patients.csv", "--explain", "x"],  # argparse's usage error
    ["--version"],
], ids=["predict", "refused", "usage", "version"])
def test_forked_run_equals_a_fresh_interpreter(folder, args):
    forked, fresh = run_cli(args, cwd=folder), run_cli_exec(args, cwd=folder)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.stdout or forked.stderr


def test_forked_run_takes_the_callers_environment_and_umask(folder):
    old = os.umask(0o027)
    try:
        env = {**os.environ, "ICIPREDICT_SHARE_OUTPUTS": "1"}
        shared = run_cli(["synth", "--n", "3", "--output", "shared.csv", "-q"], cwd=folder, env=env)
        private = run_cli(["synth", "--n", "3", "--output", "private.csv", "-q"], cwd=folder,
                          env={k: v for k, v in env.items() if k != "ICIPREDICT_SHARE_OUTPUTS"})
    finally:
        os.umask(old)
    assert shared.returncode == private.returncode == 0, shared.stderr + private.stderr
    assert stat.S_IMODE((folder / "shared.csv").stat().st_mode) == 0o640  # widened by the umask, as asked
    assert stat.S_IMODE((folder / "private.csv").stat().st_mode) == 0o600


def test_a_changed_pythonpath_gets_a_fresh_interpreter(folder, tmp_path):
    """What Python reads as it starts (here PYTHONPATH, with a sitecustomize on it) needs a fresh interpreter:
    a template child would not read it."""
    (tmp_path / "sitecustomize.py").write_text("import sys; sys.stderr.write('site read\\n')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)}
    proc = run_cli(["--version"], cwd=folder, env=env)
    assert proc.returncode == 0 and proc.stderr == "site read\n", proc.stderr
