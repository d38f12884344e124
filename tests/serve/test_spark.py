"""``mlflow.pyfunc.spark_udf`` scores a Spark DataFrame like Python does: a logged model, and the README's
example run verbatim on a DataFrame read from CSV."""

from __future__ import annotations

import os
import shutil
import sys

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
               .config("spark.sql.shuffle.partitions", "1").config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return get_tracked_run(tmp_path_factory)


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
    exec(compile(code, "README.md (Spark example)", "exec"), namespace)  # noqa: S102 - the README's own code

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
