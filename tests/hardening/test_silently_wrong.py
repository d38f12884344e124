"""Hardening III, silently wrong: files read as written (row order, old Mac line ends, very wide
headers) on every reader, and long ids shortened in every output a person reads.

Each reader is the CLI whole-file and ``--chunk-size`` paths (in-process ``cli.main``), the
calculator's upload (``read_table_bytes``) and the Python API, compared with the same table
written plainly.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd
import pytest
from process_support import run_cli_in_process

import icipredict
from icipredict.io import read_patients
from icipredict.io.table import read_table_bytes

PLAIN = "patient_id,pdl1_tps,tmb,age\nb,80,20,64\na,0,2,71\nc,30,11,58\n"


_cli = run_cli_in_process


def _predicted(model: Path, path: Path, *extra: str) -> pd.DataFrame:
    code, out, err = _cli(["predict", "--model", str(model), "--input", str(path), "--quiet", *extra])
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), dtype={"patient_id": str})


@pytest.fixture(scope="module")
def reference(small_model, tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("plain") / "plain.csv"
    path.write_text(PLAIN)
    return _predicted(small_model, path)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_old_mac_line_ends_read_like_any_other(small_model, reference, tmp_path, stream):
    path = tmp_path / "mac.csv"
    path.write_bytes(PLAIN.replace("\n", "\r").encode())
    got = _predicted(small_model, path, *(["--chunk-size", "2"] if stream else []))
    pd.testing.assert_frame_equal(got, reference)
    upload = read_table_bytes(path.read_bytes(), "mac.csv")
    assert upload["patient_id"].tolist() == ["b", "a", "c"] and upload["tmb"].tolist() == ["20", "2", "11"]


def test_a_header_of_100000_columns_is_a_clear_error_on_every_reader(small_model, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["patient_id", "tmb", *(f"x{i}" for i in range(100_000))]) + "\n"
                    + ",".join(["a", "12", *["1"] * 100_000]) + "\n")
    for extra in ([], ["--chunk-size", "1"]):
        code, _, err = _cli(["predict", "--model", str(small_model), "--input", str(path), *extra])
        assert code == 2 and "the header has 100,002 columns; expected at most 10,000 (ICIPREDICT_MAX_COLUMNS" in err
    with pytest.raises(icipredict.InvalidPatientData, match="ICIPREDICT_MAX_COLUMNS"):
        read_table_bytes(path.read_bytes(), "wide.csv")


def test_a_header_longer_than_the_sniffed_head_is_read_whole(small_model, tmp_path):
    extra = [f"an_unused_column_with_a_long_name_{i:05d}" for i in range(2_000)]  # an 80 KB header line
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["patient_id", *extra, "tmb"]) + "\n" + ",".join(["a", *["1"] * 2_000, "12"]) + "\n")
    expected = icipredict.predict({"patient_id": "a", "tmb": 12}, model=small_model)["p_durable_benefit"].iloc[0]
    for extra_args in ([], ["--chunk-size", "1"]):
        got = _predicted(small_model, path, *extra_args)
        assert got["patient_id"].tolist() == ["a"] and got["p_durable_benefit"].iloc[0] == pytest.approx(expected)
    table = read_table_bytes(path.read_bytes(), "wide.csv")
    assert table.shape == (1, 2_003) and table["tmb"].tolist() == ["12"]  # and the cohort column


def test_cbioportal_web_export_keeps_the_file_order(tmp_path):
    path = tmp_path / "toy_clinical_data.tsv"
    path.write_text("Study ID\tPatient ID\tSample ID\tTMB (nonsynonymous)\n"
                    "nsclc_pd1_msk_2018\tz\tz-T1\t3\n"
                    "nsclc_pd1_msk_2018\tb\tb-T2\t9\n"
                    "nsclc_pd1_msk_2018\tb\tb-T1\t4\n"
                    "nsclc_pd1_msk_2018\ta\ta-T1\t5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_patients(path)
    assert df["patient_id"].tolist() == ["z", "b", "a"]  # as in the file, not sorted by sample id
    assert df["tmb"].tolist() == ["3", "4", "5"]  # a patient's first sample by id stands for it (b-T1)



# -- the cBioPortal, LORIS and Dijon readers: old Mac line ends and very wide headers ------------------------

def _mac(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    """A real study folder (the 16-patient Rizvi 2015 study), a LORIS and a Dijon table, each also with CR line ends."""
    import shutil

    from conftest import shared_path

    study, loris, dijon = (shared_path("cbioportal", "nsclc_mskcc_2015"), shared_path("loris_nsclc", "msk1.csv"),
                           shared_path("dijon", "fumet2020_cd8_pdl1.csv"))
    root = tmp_path_factory.mktemp("mac")
    shutil.copytree(study, root / "study_mac")
    for f in (root / "study_mac").iterdir():
        f.write_bytes(_mac(f.read_bytes()))
    (root / "loris_mac.csv").write_bytes(_mac(loris.read_bytes()))
    (root / "dijon_mac.csv").write_bytes(_mac(dijon.read_bytes()))
    return {"cbioportal": (study, root / "study_mac"), "loris": (loris, root / "loris_mac.csv"),
            "dijon": (dijon, root / "dijon_mac.csv")}


@pytest.mark.realdata
@pytest.mark.parametrize("layout", ["cbioportal", "loris", "dijon"])
def test_old_mac_line_ends_in_the_real_layouts_read_like_the_original(real_files, layout):
    original, mac = real_files[layout]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = read_patients(original, format=layout), read_patients(mac, format=layout)
    assert len(got) == len(want) > 10
    # LORIS ids carry the file's stem as their cohort prefix (msk1:132): the rest must be the same
    got["patient_id"] = got["patient_id"].str.replace(f"{mac.stem}:", f"{original.stem}:", regex=False)
    pd.testing.assert_frame_equal(got.drop(columns="cohort"), want.drop(columns="cohort"))


def _widen(path: Path) -> None:
    """Add 100,000 columns to a tab-separated file's header line ('#' lines and rows untouched: the width is
    refused before any row is parsed)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines[first] += "\t" + "\t".join(f"x{i}" for i in range(100_000))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.realdata
@pytest.mark.parametrize("part", ["data_clinical_sample.txt", "data_clinical_patient.txt", "data_mutations.txt"])
def test_a_wide_cbioportal_file_is_refused_before_its_rows_are_parsed(real_files, tmp_path, part):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(real_files["cbioportal"][0], study)
    _widen(study / part)
    with pytest.raises(icipredict.InvalidPatientData, match=rf"{part}: the header has 100,0\d\d columns; expected "
                                                             r"at most 10,000 \(ICIPREDICT_MAX_COLUMNS"):
        read_patients(study)


def test_a_wide_cbioportal_web_export_is_refused(tmp_path):
    path = tmp_path / "toy_clinical_data.tsv"
    path.write_text("Study ID\tPatient ID\tSample ID\tTMB (nonsynonymous)\t" + "\t".join(f"x{i}" for i in range(100_000))
                    + "\nnsclc_pd1_msk_2018\tz\tz-T1\t3\t" + "\t".join(["1"] * 100_000) + "\n")
    code, _, err = _cli(["validate", "--input", str(path)])
    assert code == 2 and "the header has 100,004 columns; expected at most 10,000" in err


def test_a_cbioportal_web_export_with_old_mac_line_ends_keeps_its_rows(tmp_path):
    path = tmp_path / "toy_clinical_data.tsv"
    path.write_bytes(b"Study ID\tPatient ID\tSample ID\tTMB (nonsynonymous)\rnsclc_pd1_msk_2018\tz\tz-T1\t3\r"
                     b"nsclc_pd1_msk_2018\ta\ta-T1\t5\r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_patients(path)
    assert df["patient_id"].tolist() == ["z", "a"] and df["tmb"].tolist() == ["3", "5"]

# -- long ids ------------------------------------------------------------------------------------------

LONG = "P" + "x" * 10_000


@pytest.fixture(scope="module")
def long_report(small_model):
    from icipredict.report.patient import report_for

    return report_for(small_model, {"patient_id": [LONG, "b"], "tmb": [12, 3]}, LONG)


def test_png_pdf_header_shortens_a_long_id(long_report):
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from icipredict.report.figures import report_page_figure

    fig = report_page_figure(long_report)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    title = next(t for t in fig.texts if t.get_text().startswith("Patient "))
    model_line = next(t for t in fig.texts if t.get_text().startswith("model "))
    assert title.get_text().startswith("Patient Pxxx") and title.get_text().endswith("...")
    assert len(title.get_text()) < 60 and "\n" not in title.get_text()  # one header line, not a wrapped block
    assert title.get_window_extent(renderer).x1 < model_line.get_window_extent(renderer).x0  # no overlap


def test_confirmation_and_error_lines_shorten_a_long_id(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"patient_id,tmb\n{LONG},12\nb,3\n")
    code, _, err = _cli(["explain", "--model", str(small_model), "--input", str(path), "--patient", LONG,
                         "--output", str(tmp_path / "r.png")])
    assert code == 0 and (tmp_path / "r.png").stat().st_size > 0
    assert "report for patient Pxxx" in err and len(err) < 400, len(err)
    code, _, err = _cli(["explain", "--model", str(small_model), "--input", str(path), "--patient", LONG + "y",
                         "--output", str(tmp_path / "r2.html")])
    assert code == 2 and "expected an id present in the input" in err and len(err) < 600, len(err)


def test_html_report_title_shortens_a_long_id(long_report):
    from icipredict.report.html import report_page

    page = report_page(long_report)
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert len(title) < 200


def test_not_scored_lines_shorten_a_long_id(small_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"patient_id,age\n{LONG},300\nb,60\n")
    code, _, err = _cli(["predict", "--model", str(small_model), "--input", str(path), "--lenient", "--output",
                         str(tmp_path / "out.csv")])
    assert code == 0 and "1 row(s) not scored: 'Pxxx" in err and len(err) < 1200, err[:300]


@pytest.mark.parametrize("records", [[{"patient_id": "a", "pdl1_tps": True}],
                                     [{"patient_id": "a", "tmb": False}, {"patient_id": "b", "tmb": True}]],
                         ids=["one-record", "a-table"])
def test_true_or_false_in_a_measurement_is_refused_not_read_as_1_or_0(small_model, records):
    """A JSON true for PD-L1 TPS was read as 1% (false as 0%): a probability for a value nobody gave."""
    column = next(k for k in records[0] if k != "patient_id")
    message = rf"patient 'a', column '{column}': expected a number .* Got (True|False) \(true/false, not a number\)"
    with pytest.raises(icipredict.InvalidPatientData, match=message):
        icipredict.predict(records if len(records) > 1 else records[0], model=small_model)
    with pytest.raises(icipredict.InvalidPatientData, match=message):
        icipredict.predict(pd.DataFrame(records), model=small_model)
    # a true/false mutation flag is a yes/no and stays accepted
    out = icipredict.predict({"patient_id": "a", "mut_stk11": True, "pdl1_tps": 50}, model=small_model)
    assert out["p_durable_benefit"].notna().all()


def test_calculator_and_rest_refuse_a_boolean_measurement_and_an_unread_query_parameter(small_model):
    from icipredict.web.app import create_app

    client = create_app(str(small_model)).test_client()
    answer = client.post("/invocations", json={"dataframe_records": [{"patient_id": "a", "pdl1_tps": True}]})
    assert answer.status_code == 400 and "Got True (true/false, not a number)" in answer.get_json()["message"]
    csv = "patient_id,pdl1_tps\na,50\n"
    answer = client.post("/invocations", data=csv, content_type="text/csv", query_string={"explain": "3"})
    assert answer.status_code == 400
    assert answer.get_json()["message"] == ("query string: expected only 'curve_times' (explain goes in a JSON body's "
                                            "params). Got ['explain'] instead.")
    assert client.post("/invocations", data=csv, content_type="text/csv").status_code == 200
