"""Canonical table I/O: delimiters, encodings, broken files, chunks and round trips."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icipredict.exceptions import InvalidPatientData
from icipredict.io import iter_patient_chunks, read_patients, write_table
from icipredict.table.schema import check_patients

CSV = "patient_id,age,sex,pdl1_tps,tmb,mut_kras\np1,64,F,50,12.5,1\np2,71,male,,3.1,0\np3,58,m,NA,,\n"


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("sep", [",", "\t", ";"], ids=["comma", "tab", "semicolon"])
def test_delimiters_are_sniffed(tmp_path, sep):
    path = _write(tmp_path / "cohort.csv", CSV.replace(",", sep))
    raw = read_patients(path)
    assert list(raw.columns[:3]) == ["patient_id", "age", "sex"]
    clean = check_patients(raw)
    assert clean["sex"].tolist() == ["female", "male", "male"]
    assert clean["pdl1_tps"].isna().tolist() == [False, True, True]
    assert (clean["cohort"] == "cohort").all()


def test_raw_tokens_are_kept_as_strings(tmp_path):
    raw = read_patients(_write(tmp_path / "t.csv", CSV))
    assert raw.loc[2, "pdl1_tps"] == "NA"  # the schema, not pandas, decides what is missing
    assert raw.loc[0, "age"] == "64" and isinstance(raw.loc[0, "age"], str)


def test_utf8_bom_and_cohort_argument(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    raw = read_patients(path, cohort="site_a")
    assert raw.columns[0] == "patient_id"
    assert set(raw["cohort"]) == {"site_a"}


def test_empty_file(tmp_path):
    with pytest.raises(InvalidPatientData, match=r"empty\.csv: the file is empty"):
        read_patients(_write(tmp_path / "empty.csv", ""))


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InvalidPatientData, match="not a text table.*Got binary data instead"):
        read_patients(path)


def test_excel_workbook_saved_as_csv(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64)
    with pytest.raises(InvalidPatientData, match="Excel workbook"):
        read_patients(path)


def test_wrong_encoding_names_the_byte_offset(tmp_path):
    path = _write(tmp_path / "latin.csv", "patient_id,histology\np1,adénocarcinome\n", encoding="latin-1")
    with pytest.raises(InvalidPatientData, match=r"latin\.csv: the file is not valid UTF-8 \(byte b'\\xe9' at offset 26\)"):
        read_patients(path)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidPatientData, match=r"nowhere\.csv: no such file or directory"):
        read_patients(tmp_path / "nowhere.csv")


def test_missing_file_with_explicit_format(tmp_path):
    with pytest.raises(InvalidPatientData, match="no such file; expected an existing file"):
        read_patients(tmp_path / "nowhere.csv", format="table")


def test_pipe_delimited_file_suggests_the_delimiter(tmp_path):
    path = _write(tmp_path / "pipes.csv", "patient_id|age\np1|60\n")
    with pytest.raises(InvalidPatientData, match=r"single column .*pipe-delimited"):
        read_patients(path)


def test_ragged_rows(tmp_path):
    path = _write(tmp_path / "ragged.csv", "patient_id,age\np1,60,extra,more\n")
    with pytest.raises(InvalidPatientData, match="some rows have more fields than the header"):
        read_patients(path)


def test_directory_that_is_not_a_study(tmp_path):
    with pytest.raises(InvalidPatientData, match="not a cBioPortal study folder"):
        read_patients(tmp_path)


def test_unknown_format_name(tmp_path):
    with pytest.raises(InvalidPatientData, match="format must be one of"):
        read_patients(_write(tmp_path / "t.csv", CSV), format="excel")  # type: ignore[arg-type]


def test_dataframe_input_is_copied():
    df = pd.DataFrame({"patient_id": ["a"], "age": [60]})
    out = read_patients(df, cohort="x")
    assert out is not df and "cohort" not in df.columns and out.loc[0, "cohort"] == "x"


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"], ids=["csv", "tsv", "parquet"])
def test_write_read_round_trip(tmp_path, suffix):
    clean = check_patients(read_patients(_write(tmp_path / "in.csv", CSV)))
    path = write_table(clean, tmp_path / f"out{suffix}")
    assert path.exists() and not list(tmp_path.glob(".out*"))  # no temporary file left behind
    again = check_patients(read_patients(path))
    pd.testing.assert_frame_equal(clean, again, check_dtype=False)


def test_write_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.csv, \.tsv or \.parquet. Got 'out\.xlsx' instead"):
        write_table(pd.DataFrame({"patient_id": ["a"]}), tmp_path / "out.xlsx")


def test_write_replaces_atomically(tmp_path):
    path = tmp_path / "t.csv"
    write_table(pd.DataFrame({"patient_id": ["a"]}), path)
    write_table(pd.DataFrame({"patient_id": ["b", "c"]}), path)
    assert read_patients(path)["patient_id"].tolist() == ["b", "c"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"], ids=["csv", "parquet"])
def test_chunks_cover_the_table(tmp_path, suffix):
    df = pd.DataFrame({"patient_id": [f"p{i}" for i in range(23)], "age": np.arange(40, 63).astype(str)})
    path = write_table(df, tmp_path / f"big{suffix}")
    chunks = list(iter_patient_chunks(path, chunk_size=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    joined = pd.concat(chunks, ignore_index=True)
    assert joined["patient_id"].tolist() == df["patient_id"].tolist()
    assert (joined["cohort"] == "big").all()
    assert len(check_patients(chunks[0])) == 5


def test_chunks_refuse_other_layouts(tmp_path):
    path = _write(tmp_path / "loris.csv", "SAMPLE_ID,PDL1_TPS(%),Systemic_therapy_history\n1,5,0\n")
    with pytest.raises(InvalidPatientData, match="only canonical CSV / Parquet tables can be read in chunks"):
        iter_patient_chunks(path, chunk_size=10)


@pytest.mark.parametrize("size", [0, -1, 2.5, True], ids=["zero", "negative", "float", "bool"])
def test_chunk_size_is_checked(tmp_path, size):
    with pytest.raises(InvalidPatientData, match="chunk_size must be a positive integer"):
        iter_patient_chunks(_write(tmp_path / "t.csv", CSV), chunk_size=size)


# -- Hardening II: one parser for every path ---------------------------------------------------------

from icipredict.io import detect_format  # noqa: E402
from icipredict.io.table import iter_table_chunks, read_table, read_table_bytes  # noqa: E402
from icipredict.table.schema import READ_NOTES_ATTR  # noqa: E402

EURO = "patient_id;albumin;pdl1_tps;sex\np1;3,9;50;F\np2;4,25;0,5;M\np3;;12;F\n"


def test_european_csv_is_detected_and_noted(tmp_path):
    raw = read_patients(_write(tmp_path / "euro.csv", EURO))
    clean = check_patients(raw)
    assert clean["albumin"].tolist()[:2] == [3.9, 4.25] and clean["pdl1_tps"].tolist() == [50.0, 0.5, 12.0]
    assert any("European" in n for n in raw.attrs[READ_NOTES_ATTR])


def test_decimal_can_be_named(tmp_path):
    path = _write(tmp_path / "t.tsv", "patient_id\talbumin\np1\t3,9\n")
    with pytest.raises(InvalidPatientData, match=r"'3,9' \(not a number: a decimal comma\?"):
        check_patients(read_patients(path, decimal="."))
    assert check_patients(read_patients(path, decimal=","))["albumin"].tolist() == [3.9]


def test_a_long_row_is_refused_in_whichever_block_it_is(tmp_path):
    rows = [f"p{i},{60 + i}" for i in range(9)] + ["p9,70,extra"]
    path = _write(tmp_path / "t.csv", "patient_id,age\n" + "\n".join(rows) + "\n")
    for size in (None, 3):
        with pytest.raises(InvalidPatientData, match=r"more fields than the header .*line 11 is patient 'p9'"):
            list(iter_table_chunks(path, size))


def test_trailing_delimiters_are_dropped(tmp_path):
    path = _write(tmp_path / "t.csv", "patient_id,age,\np1,60,\np2,61,\n")
    assert list(read_patients(path).columns[:2]) == ["patient_id", "age"]
    assert read_patients(path)["age"].tolist() == ["60", "61"]


@pytest.mark.parametrize("content", [
    CSV, CSV.replace("12.5", "inf"), CSV.replace("50", "50%"), CSV.replace(",1\n", ",2\n"),
    CSV.replace("64", "NA"), CSV.replace("64", " nan "),
], ids=["clean", "inf", "percent", "binary-2", "na", "padded-nan"])
def test_typed_reading_gives_the_text_path_result(tmp_path, content):
    path = _write(tmp_path / "t.csv", content)
    for size in (None, 2):
        typed = [read_table(path, numbers=True)] if size is None else list(iter_table_chunks(path, 2, numbers=True))
        text = [read_table(path)] if size is None else list(iter_table_chunks(path, 2))
        for a, b in zip(typed, text):
            try:
                expected = check_patients(b)
            except InvalidPatientData as exc:
                with pytest.raises(InvalidPatientData, match=re.escape(str(exc))):
                    check_patients(a)
            else:
                pd.testing.assert_frame_equal(check_patients(a), expected)


def test_in_memory_and_file_reads_agree(tmp_path):
    path = _write(tmp_path / "euro.csv", EURO)
    pd.testing.assert_frame_equal(read_table(path), read_table_bytes(EURO.encode(), "euro.csv"))


@pytest.mark.parametrize("extra", ["Sample ID", "CD8_IHC", "Patient ID"])
def test_a_table_with_patient_id_stays_canonical(tmp_path, extra):
    path = _write(tmp_path / "t.csv", f"patient_id,{extra},age\np1,x,60\n")
    assert detect_format(path) == "table"


def test_excel_sheets(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame({"patient_id": ["a"], "age": [60]}).to_excel(xl, sheet_name="first", index=False)
        pd.DataFrame({"patient_id": ["b", "c"], "age": [70, 71]}).to_excel(xl, sheet_name="second", index=False)
    first = read_patients(path)
    assert first["patient_id"].tolist() == ["a"] and first["age"].tolist() == ["60"]
    assert "read sheet 'first', the first of 2 sheets" in first.attrs[READ_NOTES_ATTR][0]
    assert read_patients(path, sheet="second")["patient_id"].tolist() == ["b", "c"]
    assert read_patients(path, sheet=1)["patient_id"].tolist() == ["b", "c"]
    assert len(list(iter_patient_chunks(path, 1, sheet="second"))) == 2
    with pytest.raises(InvalidPatientData, match=r"no sheet 'third' in the workbook.*'first', 'second'"):
        read_patients(path, sheet="third")


def test_sheet_and_decimal_only_for_canonical_tables(tmp_path):
    path = _write(tmp_path / "loris.csv", "SAMPLE_ID,PDL1_TPS(%),Systemic_therapy_history\n1,5,0\n")
    with pytest.raises(InvalidPatientData, match="--sheet and --decimal apply to canonical tables"):
        read_patients(path, decimal=",")
