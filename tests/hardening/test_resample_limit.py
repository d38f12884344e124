"""Bootstrap resamples are bounded on every path: a training config, ``evaluate`` and ``update`` (CLI and Python).

Their indices are held at once, so ``--n-boot 1000000`` ran for minutes and asked for gigabytes before any
answer; each path now refuses it before any work, naming the limit.
"""

from __future__ import annotations

import pytest
from process_support import run_cli_in_process

from icipredict.config import load_config
from icipredict.evaluation.saved import evaluate
from icipredict.exceptions import InvalidConfig
from icipredict.fitting.updating import update
from icipredict.table.vocab import MAX_RESAMPLES


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
