"""Writing results: checked before any work, never over an input, atomic, no spreadsheet formulas."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from icipredict.exceptions import OutputRefused
from icipredict.io.output import TableWriter, atomic_path, check_output, neutralise_formulas


@pytest.fixture()
def folder(tmp_path):
    (tmp_path / "in.csv").write_text("patient_id\na\n")
    return tmp_path


@pytest.mark.parametrize(("name", "pattern"), [
    ("in.csv", "is the input"), ("sub/../in.csv", "is the input"), ("out.txt", r"expected one of \.csv, \.tsv, "
                                                                              r"\.parquet\. Got '\.txt'"),
    ("missing/out.csv", "does not exist"), ("sub", "is a directory"),
], ids=["same-path", "other-spelling", "suffix", "missing-folder", "directory"])
def test_refused_outputs(folder, name, pattern):
    (folder / "sub").mkdir()
    with pytest.raises(OutputRefused, match=pattern):
        check_output(folder / name, [folder / "in.csv"])


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_links_to_an_input_are_refused(folder, link):
    (os.symlink if link == "symlink" else os.link)(folder / "in.csv", folder / "out.csv")
    with pytest.raises(OutputRefused, match="is the input"):
        check_output(folder / "out.csv", [folder / "in.csv"])


def test_a_file_inside_an_input_folder_is_an_input(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / "data_clinical_patient.txt").write_text("x")
    os.link(study / "data_clinical_patient.txt", tmp_path / "out.csv")
    with pytest.raises(OutputRefused, match="is the input"):
        check_output(tmp_path / "out.csv", [study])


def test_writer_leaves_the_old_output_on_failure(folder):
    out = folder / "out.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError):
        with TableWriter(out) as writer:
            writer.write(pd.DataFrame({"patient_id": ["a"]}))
            raise RuntimeError("interrupted")
    assert out.read_text() == "old\n" and sorted(p.name for p in folder.iterdir()) == ["in.csv", "out.csv"]


def test_atomic_path_moves_into_place_only_on_success(folder):
    out = folder / "out.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half\n")
            raise RuntimeError("interrupted")
    assert out.read_text() == "old\n" and sorted(p.name for p in folder.iterdir()) == ["in.csv", "out.csv"]
    with atomic_path(out) as tmp:
        assert tmp.parent == folder and tmp != out
        tmp.write_text("new\n")
    assert out.read_text() == "new\n" and sorted(p.name for p in folder.iterdir()) == ["in.csv", "out.csv"]


def test_writer_replaces_a_symlink_not_its_target(folder):
    target = folder / "target.csv"
    target.write_text("keep\n")
    (folder / "out.csv").symlink_to(target)
    with TableWriter(folder / "out.csv") as writer:
        writer.write(pd.DataFrame({"patient_id": ["a"]}))
        writer.commit()
    assert target.read_text() == "keep\n" and not (folder / "out.csv").is_symlink()


def test_formulas_neutralised_only_in_text_cells():
    df = pd.DataFrame({"patient_id": ["=1+1", "+a", "-b", "@c", "\tt", "\rr", "ok"], "p": [-0.5] * 7,
                       "value": [-3.5, "-x", None, 1, "a", "=y", 2.0]})
    out = neutralise_formulas(df)
    assert out["patient_id"].tolist() == ["'=1+1", "'+a", "'-b", "'@c", "'\tt", "'\rr", "ok"]
    assert out["p"].tolist() == [-0.5] * 7
    assert out["value"].tolist() == [-3.5, "'-x", None, 1, "a", "'=y", 2.0]
    assert df["patient_id"].iloc[0] == "=1+1"  # the caller's frame is unchanged


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_suffix_decides_the_format_over_several_pieces(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with TableWriter(out) as writer:
        writer.write(pd.DataFrame({"patient_id": ["=a"], "top1_value": [1.5]}))
        writer.write(pd.DataFrame({"patient_id": ["b"], "top1_value": ["female"]}))
        writer.commit()
    if suffix == ".parquet":
        back = pd.read_parquet(out)
        assert back["patient_id"].tolist() == ["=a", "b"] and back["top1_value"].tolist() == ["1.5", "female"]
    else:
        text = out.read_text()
        assert text.splitlines()[0] == ("patient_id\ttop1_value" if suffix == ".tsv" else "patient_id,top1_value")
        assert "'=a" in text
