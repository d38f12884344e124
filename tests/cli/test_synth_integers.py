"""``icipredict synth`` writes whole-number columns as integers in CSV, TSV and Parquet (issue 21, item 8)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from process_support import run_cli_many

WHOLE = ("mut_egfr", "mut_kras", "mut_braf", "mut_stk11", "met_liver", "ecog", "line_of_therapy",
         "prior_systemic_therapy", "antibiotics", "pfs_event", "os_event", "age")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    jobs = {suffix: ["synth", "--n", "60", "--seed", "3", "--output", str(d / f"s.{suffix}"), "-q"]
            for suffix in ("csv", "tsv", "parquet")}
    runs = run_cli_many(jobs, cwd=d, timeout=300)
    for proc in runs.values():
        assert proc.returncode == 0, proc.stderr
    return d


@pytest.mark.parametrize("suffix,delimiter", [("csv", ","), ("tsv", "\t")])
def test_text_files_hold_integers_not_floats(written, suffix, delimiter):
    with open(written / f"s.{suffix}", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=delimiter))
    for name in WHOLE:
        cells = {r[name] for r in rows}
        assert all(c == "" or c.lstrip("-").isdigit() for c in cells), (name, sorted(cells)[:5])
    assert {r["mut_egfr"] for r in rows} <= {"0", "1", ""}
    assert any("." in r["albumin"] for r in rows)  # a measured number keeps its decimals


def test_parquet_holds_integer_columns(written):
    import pyarrow.parquet as pq

    schema = pq.read_schema(written / "s.parquet")
    for name in WHOLE:
        assert str(schema.field(name).type) == "int64", (name, schema.field(name).type)
    assert str(schema.field("albumin").type) == "double"
    back = pd.read_parquet(written / "s.parquet")
    assert set(back["mut_egfr"].dropna().unique()) <= {0, 1}
