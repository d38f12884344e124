"""A bad PFS outcome in ``evaluate`` and ``update`` of a curve model is refused as in ``train``.

PFS of 0 months, an event flag other than 0/1, a PFS without its event flag (one patient, or the whole
column absent): exit code 2, one ``icipredict: error:`` naming patient, column and value, no traceback and
nothing written. Before, ``evaluate`` and ``update`` ended a PFS of 0 in a traceback naming a row position,
and a PFS without an event flag was silently left out of ``evaluate``'s curve metrics.
"""

from __future__ import annotations

import pytest
from process_support import run_cli, run_cli_in_process

from icipredict.io.synthetic import synthetic_cohort

CASES = {
    "pfs-zero": ("pfs_months", 0, "patient SYN-000005: pfs_months expected a PFS above 0 months, got 0"),
    "event-2": ("pfs_event", 2, "patient 'SYN-000005', column 'pfs_event': expected 0 or 1"),  # the schema's words
    "event-empty": ("pfs_event", None, "patient SYN-000005: pfs_event expected 0 or 1 beside a PFS time, got empty"),
    "event-column-absent": ("pfs_event", "drop", "pfs_event expected 0 or 1 beside a PFS time, got empty"),
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pfs_outcomes")
    data = synthetic_cohort(200, seed=21)
    paths = {}
    for name, (column, value, _) in CASES.items():
        bad = data.drop(columns=[column]) if value == "drop" else data.copy()
        if value != "drop":
            bad[column] = bad[column].astype(object)
            bad.loc[4, column] = value
        paths[name] = folder / f"{name}.csv"
        bad.to_csv(paths[name], index=False)
    return paths


@pytest.mark.parametrize("command", ["evaluate", "update"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_pfs_outcome_refused_naming_patient_and_column(tables, tmp_path, command, case):
    args = [command, "--input", str(tables[case]), "--n-boot", "20"]
    if command == "update":
        args += ["--output", str(tmp_path / "updated"), "--no-tracking"]
    else:
        args += ["--output", str(tmp_path / "metrics.csv")]
    code, out, err = run_cli_in_process(args, cwd=tmp_path)
    assert code == 2, err
    assert CASES[case][2] in err and err.count("icipredict: error:") == 1 and "Traceback" not in err
    assert not (tmp_path / "updated").exists() and not (tmp_path / "metrics.csv").exists()


def test_pfs_zero_refused_in_a_real_process(tables, tmp_path):
    proc = run_cli(["evaluate", "--input", str(tables["pfs-zero"]), "--n-boot", "20"], cwd=tmp_path)
    assert proc.returncode == 2 and CASES["pfs-zero"][2] in proc.stderr and "Traceback" not in proc.stderr
