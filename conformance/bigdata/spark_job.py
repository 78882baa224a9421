"""A Spark Structured Streaming job against weir (pyspark + spark-sql-kafka-0-10).

Reads a weir topic in micro-batches (maxOffsetsPerTrigger 400) with a checkpoint dir, counts
records per region and writes the counts back to weir (outputMode update). The query is
stopped mid-run (input left unread), more input arrives, and a second query on the same
checkpoint resumes (trigger availableNow). The last count written per region must equal the
true count of the whole input, and each region's counts must never go down.
Prints PASS or `FAIL: reason` as its last line; exit 0 or 1.

usage: spark_job.py HOST:PORT SPARK_KAFKA_PACKAGE
"""
import os
import shutil
import sys
import tempfile
import time
import uuid

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

N1, N2 = 3000, 2000


def region(i):
    h = (i * 2654435761) % 1000
    return "region-%d" % (0 if h < 400 else 1 if h < 650 else h % 7)


def main():
    bs, package = sys.argv[1], sys.argv[2]
    tag = uuid.uuid4().hex[:8]
    src, dst = f"bigdata-spark-in-{tag}", f"bigdata-spark-out-{tag}"
    work = tempfile.mkdtemp(prefix="weir-spark-")
    ckpt = os.path.join(work, "checkpoint")
    spark = (SparkSession.builder.master("local[2]").appName("weir-spark")
             .config("spark.jars.packages", package)
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "512m")
             .getOrCreate())
    spark.sparkContext.setLogLevel("WARN")

    def feed(lo, hi):
        rows = [(f"user-{i}", region(i)) for i in range(lo, hi)]
        (spark.createDataFrame(rows, "key string, value string").write.format("kafka")
         .option("kafka.bootstrap.servers", bs).option("topic", src).save())

    def query(trigger):
        counts = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", bs)
                  .option("subscribe", src).option("startingOffsets", "earliest")
                  .option("maxOffsetsPerTrigger", "400").load()
                  .select(F.col("value").cast("string").alias("region"))
                  .groupBy("region").count()
                  .select(F.col("region").alias("key"), F.col("count").cast("string").alias("value")))
        w = (counts.writeStream.format("kafka").option("kafka.bootstrap.servers", bs)
             .option("topic", dst).option("checkpointLocation", ckpt).outputMode("update"))
        return (w.trigger(availableNow=True) if trigger == "availableNow" else w.trigger(processingTime="200 milliseconds")).start()

    t0 = time.time()
    feed(0, N1)
    q = query("processing")
    deadline = time.time() + 120
    while time.time() < deadline:
        done = sum(p["numInputRows"] for p in q.recentProgress)
        if done >= 800:
            break
        if q.exception():
            raise RuntimeError(f"first query failed: {q.exception()}")
        time.sleep(0.2)
    q.stop()
    done = sum(p["numInputRows"] for p in q.recentProgress)
    print(f"stopped the first query after {done} of {N1} input rows ({time.time() - t0:.1f} s)", flush=True)
    if done >= N1:
        raise RuntimeError("the first query read all the input before it was stopped: not mid-run")

    feed(N1, N1 + N2)
    q = query("availableNow")
    if not q.awaitTermination(180):
        q.stop()
        raise RuntimeError("the resumed query did not finish within 180 s")
    if q.exception():
        raise RuntimeError(f"resumed query failed: {q.exception()}")

    want = {}
    for i in range(N1 + N2):
        want[region(i)] = want.get(region(i), 0) + 1
    out = (spark.read.format("kafka").option("kafka.bootstrap.servers", bs).option("subscribe", dst)
           .option("startingOffsets", "earliest").load()
           .select(F.col("key").cast("string"), F.col("value").cast("string"), "partition", "offset")
           .orderBy("partition", "offset").collect())
    last, series = {}, {}
    for r in out:
        series.setdefault(r["key"], []).append(int(r["value"]))
        last[r["key"]] = int(r["value"])
    for k, s in series.items():
        if any(b < a for a, b in zip(s, s[1:])):
            raise RuntimeError(f"{k}: counts went down: {s}")
    print(f"{len(out)} count updates written; final counts {dict(sorted(last.items()))} ({time.time() - t0:.1f} s)", flush=True)
    if last != want:
        raise RuntimeError(f"final counts {dict(sorted(last.items()))} != expected {dict(sorted(want.items()))}")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
        print("PASS", flush=True)
        sys.exit(0)
    except Exception as e:  # the last line is the verdict
        print(f"FAIL: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
