"""Resamples, synthetic patients and seeds are bounded on every path: a training config, ``evaluate``, ``update``
and ``synth`` (CLI and Python).

Bootstrap indices are held at once, so ``--n-boot 1000000`` ran for minutes toward gigabytes before any answer;
``synth --n 100000000`` would need about 200 GB; a negative seed ended in NumPy's traceback. Each path now
refuses them before any work, naming the limit.
"""

from __future__ import annotations

import pytest
from process_support import run_cli_in_process

from icipredict.config import load_config
from icipredict.evaluation.saved import evaluate
from icipredict.exceptions import InvalidConfig
from icipredict.fitting.updating import update
from icipredict.io.synthetic import synthetic_cohort
from icipredict.table.vocab import MAX_RESAMPLES, MAX_SEED, MAX_SYNTHETIC_PATIENTS


@pytest.mark.parametrize("command", ["evaluate", "update"])
@pytest.mark.parametrize("n_boot", [-1, MAX_RESAMPLES + 1])
def test_cli_refuses_resamples_out_of_range_before_any_work(tmp_path, command, n_boot):
    args = [command, "--input", str(tmp_path / "not-read.csv"), "--n-boot", str(n_boot)]
    if command == "update":
        args += ["--output", str(tmp_path / "local"), "--no-tracking"]
    code, out, err = run_cli_in_process(args)
    assert code == 2 and out == ""
    assert (f"--n-boot: expected an integer from 0 (no confidence intervals) to {MAX_RESAMPLES}. "
            f"Got {n_boot} instead.") in err
    assert not (tmp_path / "local").exists()


@pytest.mark.parametrize("call", [lambda n: evaluate("public", "not-read.csv", n_boot=n),
                                  lambda n: update("public", "not-read.csv", n_boot=n)], ids=["evaluate", "update"])
@pytest.mark.parametrize("n_boot", [-1, MAX_RESAMPLES + 1, 2.5, True])
def test_python_api_refuses_resamples_out_of_range(call, n_boot):
    with pytest.raises(InvalidConfig, match=rf"n_boot: expected a whole number of bootstrap resamples from 0 \(no "
                                            rf"confidence intervals\) to {MAX_RESAMPLES}\. Got {n_boot!r} instead"):
        call(n_boot)


def test_a_training_config_shares_the_limit():
    assert load_config(None, overrides=[f"evaluation.n_boot={MAX_RESAMPLES}"]).evaluation.n_boot == MAX_RESAMPLES
    with pytest.raises(InvalidConfig, match=rf"config key 'evaluation.n_boot': .*{MAX_RESAMPLES}"):
        load_config(None, overrides=[f"evaluation.n_boot={MAX_RESAMPLES + 1}"])


@pytest.mark.parametrize(("args", "message"), [
    (["synth", "--n", "5", "--seed", "-1"], f"--seed: expected a whole number from 0 to {MAX_SEED}. Got -1 instead."),
    (["evaluate", "--input", "x.csv", "--seed", str(MAX_SEED + 1)], f"Got {MAX_SEED + 1} instead."),
    (["update", "--input", "x.csv", "--output", "u", "--seed", "-2", "--no-tracking"], "--seed: expected"),
    (["synth", "--n", str(MAX_SYNTHETIC_PATIENTS + 1)],
     f"--n: expected a number of patients from 1 to 1,000,000. Got {MAX_SYNTHETIC_PATIENTS + 1} instead."),
], ids=["synth-seed", "evaluate-seed", "update-seed", "synth-n"])
def test_cli_refuses_seeds_and_sizes_out_of_range(tmp_path, args, message):
    code, out, err = run_cli_in_process(args, cwd=tmp_path)
    assert code == 2 and out == "" and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_python_api_refuses_seeds_and_sizes_out_of_range():
    with pytest.raises(InvalidConfig, match=rf"seed: expected a whole number from 0 to {MAX_SEED}\. Got -1 instead"):
        evaluate("public", "not-read.csv", seed=-1)
    with pytest.raises(InvalidConfig, match=r"seed: expected a whole number"):
        update("public", "not-read.csv", seed=MAX_SEED + 1)
    with pytest.raises(ValueError, match=r"n: expected a number of patients from 1 to 1,000,000\. Got 1000001"):
        synthetic_cohort(MAX_SYNTHETIC_PATIENTS + 1)
    with pytest.raises(ValueError, match=rf"seed: expected a whole number from 0 to {MAX_SEED}\. Got -1 instead"):
        synthetic_cohort(5, seed=-1)
    with pytest.raises(InvalidConfig, match=r"config key 'data.sources.0.n': .*1000000"):
        load_config(None, overrides=[f"data.sources.0.n={MAX_SYNTHETIC_PATIENTS + 1}"])
