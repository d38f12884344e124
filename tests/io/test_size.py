"""count_rows: the total of a streaming progress bar, without reading the table."""

from __future__ import annotations

import pandas as pd
import pytest

from icipredict.io.size import count_rows


@pytest.mark.parametrize(("text", "n"), [
    pytest.param("patient_id,tmb\na,1\nb,2\n", 2, id="trailing-newline"),
    pytest.param("patient_id,tmb\na,1\nb,2", 2, id="no-trailing-newline"),
    pytest.param("patient_id,tmb\r\na,1\r\nb,2\r\n", 2, id="crlf"),
    pytest.param("patient_id,tmb\n", 0, id="header-only"),
    pytest.param("", 0, id="empty"),
])
def test_text_tables(tmp_path, text, n):
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert count_rows(path) == n


def test_parquet_footer(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"patient_id": [f"p{i}" for i in range(7)]}).to_parquet(path)
    assert count_rows(path) == 7


@pytest.mark.parametrize("name", ["book.xlsx", "missing.csv", "folder"], ids=["excel", "missing", "folder"])
def test_unknown_totals(tmp_path, name):
    (tmp_path / "folder").mkdir()
    (tmp_path / "book.xlsx").write_bytes(b"PK")
    assert count_rows(tmp_path / name) is None


def test_a_corrupt_parquet_file_is_an_unknown_total(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    assert count_rows(path) is None
