"""``mlflow.pyfunc.spark_udf`` scores a Spark DataFrame like Python does: a logged model, and the README's
example run verbatim on a DataFrame read from CSV."""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java: no `java` on PATH (install a JDK 17 to run the Spark tests)",
                allow_module_level=True)

from serving_support import get_tracked_run, readme_block, synthetic_patients  # noqa: E402

pytestmark = [pytest.mark.spark,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")]

#: The pyfunc returns several columns: the UDF returns them as a struct.
RESULT_TYPE = "patient_id string, p_durable_benefit double, benefit_group string, time_class string"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The working directory of the module, and so of Spark's JVM: relative paths resolve here."""
    folder = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        yield folder


@pytest.fixture(scope="module")
def spark(workdir):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[1]").appName("icipredict-test")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "1g")
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1")
               .config("spark.sql.shuffle.partitions", "1").config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory, new_store):
    return get_tracked_run(tmp_path_factory, new_store)


def _spark_frame(spark, patients: pd.DataFrame):
    """Spark DataFrame with the signature's types: numbers as double, text as string, missing as null."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields, columns = [], {}
    for c in patients.columns:
        numeric = pd.api.types.is_numeric_dtype(patients[c])
        fields.append(StructField(c, DoubleType() if numeric else StringType(), nullable=True))
        values = patients[c].astype(float) if numeric else patients[c].astype(object)
        columns[c] = [None if pd.isna(v) else (float(v) if numeric else str(v)) for v in values]
    rows = list(zip(*columns.values()))
    return spark.createDataFrame(rows, schema=StructType(fields))


def test_spark_udf_matches_python(spark, run):
    import mlflow
    from pyspark.sql import functions as F

    import icipredict

    mlflow.set_tracking_uri(run.tracking_uri)
    patients = synthetic_patients(50, seed=21)
    expected = icipredict.predict(patients, model=run.model_uri)

    udf = mlflow.pyfunc.spark_udf(spark, run.model_uri, result_type=RESULT_TYPE, env_manager="local")
    frame = _spark_frame(spark, patients)
    # one struct argument: the UDF receives a pandas DataFrame whose columns keep their names (positional
    # arguments would be renamed after the signature's column order)
    scored = frame.withColumn("prediction", udf(F.struct(*frame.columns)))
    got = scored.select("patient_id", "prediction.p_durable_benefit", "prediction.benefit_group",
                        "prediction.patient_id").toPandas()
    got.columns = ["patient_id", "p_durable_benefit", "benefit_group", "udf_patient_id"]
    got = got.set_index("patient_id").loc[patients["patient_id"]]
    assert got["udf_patient_id"].tolist() == patients["patient_id"].tolist()
    diff = np.abs(got["p_durable_benefit"].to_numpy(float) - expected["p_durable_benefit"].to_numpy(float)).max()
    print(f"max |Spark - Python| = {diff:.3g}")
    assert diff < 1e-6
    assert got["benefit_group"].tolist() == expected["benefit_group"].tolist()


def test_readme_spark_example_verbatim(spark, workdir):
    """The README's block, executed as written on a CSV with typed columns, empty cells and extra columns."""
    import icipredict
    from icipredict.io import read_patients
    from icipredict.io.synthetic import synthetic_cohort

    code = readme_block("tests/serve/test_spark.py")
    path = workdir / "patients.csv"  # the README's relative path, where Spark started
    synthetic_cohort(60, seed=31).to_csv(path, index=False)  # outcomes and cohort too: columns the model ignores
    namespace: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning the README's code raises, each time
        exec(compile(code, "README.md (Spark example)", "exec"), namespace)  # noqa: S102 - the README's own code
    # issue 21 item 14: no FutureWarning reaches the user (PySpark's pandas-3 notice is silenced while the UDF
    # is built, and only that one), and any other warning still would
    future = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    assert not future, future
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("another FutureWarning", FutureWarning)
    assert [str(w.message) for w in caught] == ["another FutureWarning"]

    patients = namespace["patients"]
    kinds = dict(patients.dtypes)
    assert kinds["pdl1_tps"] == "double" and kinds["sex"] == "string"  # inferSchema typed the columns
    got = namespace["scored"].select("prediction.*").toPandas()
    expected = icipredict.predict(read_patients(path), model="public")
    assert list(got.columns) == [c for c in expected.columns]
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    for col in expected.columns:
        if pd.api.types.is_float_dtype(expected[col]):
            diff = np.nanmax(np.abs(got[col].to_numpy(float) - expected[col].to_numpy(float)))
            assert diff < 1e-9, (col, diff)
        else:
            assert got[col].fillna("").tolist() == expected[col].fillna("").tolist(), col


def test_one_table_through_every_path_gives_the_same_answer(spark, workdir, tmp_path):
    """Issue 21, must hold: one patient table through Python, the CLI, REST (``icipredict serve``'s
    /invocations and the MLflow pyfunc), the calculator's upload and Spark gives the same
    p_durable_benefit, benefit_group, inputs_not_used and warnings."""
    import base64
    import html
    import io
    import re
    import urllib.request
    import uuid

    from process_support import CLI, http_json, run_cli, serve

    import icipredict
    from icipredict.exceptions import InputWarning
    from icipredict.io import read_patients

    table = pd.DataFrame({
        "patient_id": ["chemo", "mono", "sparse", "til-two"],
        "pdl1_tps": [60, 5, None, 80], "pdl1_band": [">=50", "1-49", "1-49", None],
        "tmb": [12.5, 3.0, None, 20.0], "regimen": ["chemo_ici", "ici_mono", None, "ici_ctla4"],
        "smoking": ["never", "former", None, "current"], "sex": ["female", "male", None, "female"],
        "antibiotics": [1, 0, None, 1], "mut_ctnnb1": [0, 1, None, 0], "mut_egfr": [None, 1, None, 0],
        "til_pct": [20, None, None, 5], "til_density": [None, None, None, 400], "hospital": ["x", "y", "z", "w"],
    })
    path = tmp_path / "patients.csv"
    table.to_csv(path, index=False)
    columns = ["p_durable_benefit", "benefit_group", "inputs_not_used", "warnings"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        python = icipredict.predict(read_patients(path), model="public")
    answers = {}

    proc = run_cli(["predict", "--input", str(path), "--output", str(tmp_path / "cli.csv")])
    assert proc.returncode == 0, proc.stderr
    assert "not in the canonical table" in proc.stderr and "hospital" in proc.stderr  # named once, on stderr
    answers["cli"] = pd.read_csv(tmp_path / "cli.csv", keep_default_na=False)

    import mlflow

    pyfunc = mlflow.pyfunc.load_model(icipredict.model_uri())
    answers["mlflow pyfunc"] = pyfunc.predict(read_patients(path))

    log = tmp_path / "serve.log"
    with serve(lambda port: [*CLI, "serve", "--port", str(port), "-q"], log, cwd=tmp_path, name="icipredict serve") as s:
        split = read_patients(path).astype(object).where(read_patients(path).notna(), None)
        status, body = http_json(f"{s.url}/invocations", {"dataframe_split": split.to_dict(orient="split")})
        assert status == 200, body
        answers["REST /invocations"] = pd.DataFrame(json.loads(body)["predictions"])
        boundary = uuid.uuid4().hex
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"explain\"\r\n\r\n0\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nshow\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"table\"; filename=\"patients.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(f"{s.url}/upload", data=form,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=60) as r:
            page = r.read().decode()
    link = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', page).group(1)
    answers["calculator (CSV link)"] = pd.read_csv(io.BytesIO(base64.b64decode(link)), keep_default_na=False)
    heads = re.findall(r'<th scope="col" data-col="([^"]+)">', page)
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr>(<td.*?)</tr>", page, flags=re.S)]
    shown = pd.DataFrame(rows, columns=heads)
    for col in ("benefit_group", "inputs_not_used", "warnings"):
        assert shown[col].tolist() == python[col].fillna("").tolist(), ("calculator page", col)
    assert shown["p_durable_benefit"].tolist() == [f"{p:.3f}" for p in python["p_durable_benefit"]]
    assert "hospital" in page.split('id="unknown-columns"', 1)[1].split("</p>", 1)[0]

    frame = spark.read.csv(str(path), header=True, inferSchema=True)
    udf = icipredict.spark_udf(spark)
    answers["spark"] = frame.withColumn("prediction", udf(_struct(frame))).select("prediction.*").toPandas()

    assert python["inputs_not_used"].tolist()[2] == "" and (python["inputs_not_used"] != "").sum() == 3
    assert python["warnings"].str.contains("chemo_ici").any()
    for where, got in answers.items():
        assert got["patient_id"].astype(str).tolist() == python["patient_id"].tolist(), where
        np.testing.assert_allclose(got["p_durable_benefit"].to_numpy(float), python["p_durable_benefit"].to_numpy(float),
                                   rtol=0, atol=1e-9, err_msg=where)
        for col in columns[1:]:
            assert got[col].fillna("").tolist() == python[col].fillna("").tolist(), (where, col)


def _struct(frame):
    """All of a Spark frame's columns as one struct: the UDF receives them by name."""
    from pyspark.sql import functions as F

    return F.struct(*frame.columns)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")], ids=["inf", "nan"])
def test_a_non_finite_id_is_refused_naming_the_row(spark, bad):
    """An id the caller could not match back (a double column holding Infinity or NaN) fails the Spark job with
    the package's message (row, column, expected, got), never a scored row under that id."""
    from pyspark.errors import PythonException
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StructField, StructType

    import icipredict

    schema = StructType([StructField("patient_id", DoubleType()), StructField("tmb", DoubleType())])
    frame = spark.createDataFrame([(1.0, 10.0), (bad, 12.0)], schema=schema)
    udf = icipredict.spark_udf(spark)
    with pytest.raises(PythonException) as caught:
        frame.withColumn("p", udf(F.struct(*frame.columns))).select("p.patient_id").collect()
    assert ("patient 'row 2', column 'patient_id': expected a non-blank identifier (text or a finite number). "
            f"Got {bad} instead.") in str(caught.value)
