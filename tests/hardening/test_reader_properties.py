"""Hardening III, property tests of the readers: any bytes given as a CSV, TSV or xlsx file either
read into a table the schema accepts or fail with the package's own error, never another exception,
within a bounded time (hypothesis ``deadline``).

Three readers are driven: the calculator's upload (``read_table_bytes``), the whole file on disk
(``read_patients``) and streaming (``iter_patient_chunks``). Bytes come raw, or as CSV-shaped text
built from the tokens that break parsers (quotes, CR, tabs, semicolons, ``%``, bad UTF-8), or as a
real workbook with bytes changed.
"""

from __future__ import annotations

import io
import itertools
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from icipredict.exceptions import IcipredictError
from icipredict.io import iter_patient_chunks, read_patients
from icipredict.io.table import read_table_bytes
from icipredict.table.schema import check_patients

SETTINGS = settings(max_examples=60, deadline=10_000, suppress_health_check=[HealthCheck.too_slow], database=None)
_FOLDER = Path(tempfile.mkdtemp(prefix="icipredict-reader-properties-"))
_COUNTER = itertools.count()

TOKENS = ["patient_id", "pdl1_tps", "tmb", "age", "sex", "PDL1_TPS", "Age", "a", "b", "p1", "60", "3.9", "3,9",
          "50%", "-", "+", "NA", "", " ", '"', '""', "'", ",", ",", ";", "\t", "\n", "\n", "\r", "\r\n", "=1+1",
          "1e400", "nan", "inf", "\x00", "\ufeff", "é", "患者", "F", "former", "ici_mono", "200", "-1"]


@st.composite
def table_like(draw) -> bytes:
    text = "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=80)))
    data = text.encode("utf-8")
    if draw(st.booleans()):  # a stray byte that is not UTF-8, somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3"])) + data[at:]
    return data


BYTES = st.one_of(st.binary(max_size=3000), table_like(), table_like())


def _accepted_or_ours(read) -> None:
    """``read()`` returns a table the schema accepts or raises the package's own error; nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = read()
            check_patients(table)
        except IcipredictError:
            pass


def _on_disk(data: bytes, suffix: str) -> Path:
    path = _FOLDER / f"t{next(_COUNTER)}{suffix}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
@SETTINGS
@given(data=BYTES)
@example(data=b"tmbtmbtmbp1p1  nan\r\xff\n")  # found by this test: a lone CR in the header line (streaming)
def test_any_bytes_as_a_text_table(suffix, data):
    _accepted_or_ours(lambda: read_table_bytes(data, "upload" + suffix))
    path = _on_disk(data, suffix)
    _accepted_or_ours(lambda: read_patients(path))
    _accepted_or_ours(lambda: _concat(iter_patient_chunks(path, 3)))
    path.unlink()


def _concat(chunks):
    import pandas as pd

    parts = [check_patients(c) for c in chunks]  # each chunk is checked as streaming checks it
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"patient_id": []})


@pytest.fixture(scope="module")
def workbook() -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["patient_id", "pdl1_tps", "tmb"], ["p1", 60, 12.5], ["p2", "50%", None]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_WORKBOOK: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def _keep_workbook(workbook):
    _WORKBOOK["b"] = workbook


@SETTINGS
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)), raw=st.binary(max_size=600), use_raw=st.booleans())
def test_any_bytes_as_an_xlsx_workbook(edits, cut, raw, use_raw):
    data = bytearray(_WORKBOOK["b"])
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[:int(cut * len(data))]
    blob = raw if use_raw else bytes(data)
    _accepted_or_ours(lambda: read_table_bytes(blob, "upload.xlsx"))
    path = _on_disk(blob, ".xlsx")
    _accepted_or_ours(lambda: read_patients(path))
    path.unlink()


def test_the_unchanged_workbook_reads(workbook):
    table = check_patients(read_table_bytes(workbook, "upload.xlsx"))
    assert table["patient_id"].tolist() == ["p1", "p2"] and table["pdl1_tps"].tolist() == [60.0, 50.0]
