"""`icipredict predict --chunk-size`: the same predictions as a whole-file run, in bounded pieces."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from process_support import run_cli

from icipredict.io import write_table
from icipredict.io.synthetic import synthetic_cohort


def _predict(args, cwd):
    return run_cli(["predict", "--quiet", *args], cwd=cwd, timeout=300)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_predictions_equal_whole_file_predictions(small_model, tmp_path, suffix):
    data = tmp_path / f"patients{suffix}"
    write_table(synthetic_cohort(230, seed=21, outcomes=False), data)
    whole = _predict(["--model", str(small_model), "--input", str(data), "--output", "whole.csv"], tmp_path)
    streamed = _predict(["--model", str(small_model), "--input", str(data), "--output", "streamed.csv",
                         "--chunk-size", "50"], tmp_path)
    assert whole.returncode == 0 and streamed.returncode == 0, streamed.stderr
    a = pd.read_csv(tmp_path / "whole.csv")
    b = pd.read_csv(tmp_path / "streamed.csv")
    assert len(b) == 230 and list(b["patient_id"]) == list(a["patient_id"])
    np.testing.assert_allclose(b["p_durable_benefit"], a["p_durable_benefit"], atol=1e-12)


def test_duplicate_id_in_a_later_chunk_is_refused_and_nothing_is_written(small_model, tmp_path):
    df = synthetic_cohort(120, seed=22, outcomes=False)
    df.loc[110, "patient_id"] = df.loc[3, "patient_id"]
    data = tmp_path / "dup.csv"
    write_table(df, data)
    proc = _predict(["--model", str(small_model), "--input", str(data), "--output", "out.csv", "--chunk-size", "50"],
                    tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"patient '{df.loc[3, 'patient_id']}', column 'patient_id'" in proc.stderr
    assert "earlier chunk" in proc.stderr
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out.csv*"))


@pytest.mark.parametrize("suffix", [".tsv", ".parquet"])
def test_streamed_output_format_follows_the_suffix(small_model, tmp_path, suffix):
    from icipredict.cli import main

    data = tmp_path / "patients.csv"
    write_table(synthetic_cohort(90, seed=23, outcomes=False), data)
    for name, extra in (("whole", []), ("streamed", ["--chunk-size", "40"])):
        assert main(["predict", "--quiet", "--model", str(small_model), "--input", str(data), "--output",
                     str(tmp_path / f"{name}{suffix}"), *extra]) == 0
    read = pd.read_parquet if suffix == ".parquet" else (lambda p: pd.read_csv(p, sep="\t"))
    a, b = read(tmp_path / f"whole{suffix}"), read(tmp_path / f"streamed{suffix}")
    assert len(b) == 90 and list(b["patient_id"]) == list(a["patient_id"])
    np.testing.assert_allclose(b["p_durable_benefit"], a["p_durable_benefit"], atol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["patients.csv", f"whole{suffix}",
                                                                f"streamed{suffix}"])
