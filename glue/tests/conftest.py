"""One local SparkSession for the whole pytest session: starting Spark is most of the suite's time."""

import os
import sys

import pytest

GLUE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GLUE)
# Spark's Python workers are other processes: they need the module on PYTHONPATH and this interpreter.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (GLUE, os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("glueline-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
