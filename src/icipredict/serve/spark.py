"""The shipped (or any) model as a Spark UDF: :func:`spark_udf`, with the output columns of ``predict``.

``mlflow.pyfunc.spark_udf`` needs the result type spelled out; this builds it from
:data:`icipredict.table.vocab.OUTPUT_COLUMNS`, so a Spark user gets every column ``predict`` returns,
in its order, without copying the list. PySpark 4 warns on every pandas UDF it builds while
pandas >= 3 is installed ("PySpark does not yet fully support pandas >= 3.0.0", a FutureWarning about
PySpark itself, not about these data); that one notice is silenced while the UDF is built, and every
other warning passes. mlflow and pyspark are imported inside the function.

>>> from icipredict.serve.spark import result_type
>>> result_type().split(", ")[:2]
['patient_id string', 'p_durable_benefit double']
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from icipredict.table.vocab import OUTPUT_COLUMNS, OUTPUT_NUMBER_PREFIXES

__all__ = ["spark_udf", "result_type", "PYSPARK_PANDAS_NOTICE"]

#: The start of PySpark's own notice about pandas >= 3 (pyspark.sql.pandas.utils.require_minimum_pandas_version).
PYSPARK_PANDAS_NOTICE = "PySpark does not yet fully support pandas"


def result_type(columns: tuple[str, ...] = OUTPUT_COLUMNS) -> str:
    """The Spark DDL of ``predict``'s columns, typed as the MLflow signature types them
    (:data:`~icipredict.table.vocab.OUTPUT_NUMBER_PREFIXES`: double; every other column: string)."""
    return ", ".join(f"{c} {'double' if c.startswith(OUTPUT_NUMBER_PREFIXES) else 'string'}" for c in columns)


def spark_udf(spark: Any, model: str | os.PathLike = "public") -> Any:
    """A Spark UDF that returns ``predict``'s columns as a struct, for ``struct(*patients.columns)``.

    Parameters
    ----------
    spark : SparkSession
    model : str or path
        A shipped model name (``"public"``), an MLflow model directory or an MLflow model URI
        (``runs:/<run_id>/model``); the Spark workers' Python needs icipredict installed.

    Examples
    --------
    >>> predict = spark_udf(spark)  # doctest: +SKIP
    >>> patients.withColumn("prediction", predict(struct(*patients.columns)))  # doctest: +SKIP
    """
    import mlflow

    from icipredict.serve.predict import shipped_model_path, shipped_models

    name = str(model)
    uri = str(shipped_model_path(name)) if name in shipped_models() else name
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_NOTICE, category=FutureWarning)
        return mlflow.pyfunc.spark_udf(spark, uri, result_type=result_type(), env_manager="local")
