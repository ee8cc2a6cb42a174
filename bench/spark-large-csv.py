"""A multi-GB CSV through the Glue job's transform on local Spark (local[2], a 1 GB driver): time, splits, counts.

    .devtools/bin/python bench/spark-large-csv.py DIR [GiB]     (default 2 GiB; the CSV is made in DIR/in once)

Every 1,000th record has a quoted field with a newline in it. Prints one JSON line: rowsIn and rowsOut against the
records written, the read's splits and the wall time. Not part of `npm run bench` (it takes minutes and GBs of disk).
"""
import json, os, sys, time
GLUE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "glue")
sys.path.insert(0, GLUE)
os.environ["PYTHONPATH"] = GLUE
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
root = sys.argv[1]
gib = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
src = os.path.join(root, "in", "big.csv")
os.makedirs(os.path.dirname(src), exist_ok=True)
rows = 0
if not os.path.exists(src):
    target = int(gib * 1024 ** 3)
    with open(src, "w", newline="") as f:
        f.write("id,name,amount\n")
        size = 0
        line_plain = "plain name with some padding to make the row longer than a few bytes xxxxxxxxxxxxxxxx"
        while size < target:
            rows += 1
            name = '"two\nlines, ""q"""' if rows % 1000 == 0 else line_plain
            line = f"{rows},{name},{rows}.5\n"
            f.write(line)
            size += len(line)
    json.dump({"rows": rows}, open(src + ".rows", "w"))
rows = json.load(open(src + ".rows"))["rows"]
print(f"file {os.path.getsize(src)/1024**3:.2f} GiB, {rows} rows", flush=True)
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("big-csv").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "1g")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
from glueline_transform import Column, TransformOptions, run_transform
opts = TransformOptions(batch_id="big", input_path=os.path.join(root, "in"), output_path=os.path.join(root, "out"),
    quarantine_path=os.path.join(root, "q"), manifest_path=os.path.join(root, "m.json"),
    columns=[Column("id", "bigint"), Column("name", "string"), Column("amount", "double")])
t0 = time.time()
run_transform(spark, opts, key_of=lambda p: p)
el = time.time() - t0
m = json.load(open(os.path.join(root, "m.json")))
splits = spark.sparkContext.textFile(src).getNumPartitions()
print(json.dumps({"seconds": round(el, 1), "rowsIn": m.get("rowsIn"), "rowsOut": m.get("rowsOut"), "rowsRejected": m.get("rowsRejected"),
                  "expectedRows": rows, "splits": splits, "outputFiles": len(m.get("outputFiles", []))}), flush=True)
spark.stop()
