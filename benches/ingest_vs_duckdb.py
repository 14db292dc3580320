"""Times `cdp ingest` and DuckDB over the same JSONL files; prints events/s,
events/s per core (events per CPU-second) and the ratio. Run through
ingest_vs_duckdb.sh, which builds cdp, makes the world and the venv."""
import json, os, resource, shutil, subprocess, sys, time

import duckdb

cdp, out = sys.argv[1], sys.argv[2]
world = os.path.join(out, "world")
sources = ["online", "offline", "ad", "transaction"]
summary = json.load(open(os.path.join(world, "truth", "summary.json")))
lines = sum(s["lines"] for s in summary["sources"])


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# cdp ingest into a fresh lake.
lake = os.path.join(out, "lake")
shutil.rmtree(lake, ignore_errors=True)
cmd = [cdp, "ingest", "--lake", lake] + [f"--input={s}={world}/{s}.jsonl" for s in sources]
cpu0, t0 = cpu_children(), time.perf_counter()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
cdp_wall, cdp_cpu = time.perf_counter() - t0, cpu_children() - cpu0
# ru_maxrss is in KiB on Linux; cdp is this script's only child so far.
cdp_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
report = json.load(open(os.path.join(lake, "ingest_reports", os.listdir(os.path.join(lake, "ingest_reports"))[0])))
assert report["balanced"], report

# DuckDB, 2 threads, same files to zstd Parquet.
duck_dir = os.path.join(out, "duckdb")
shutil.rmtree(duck_dir, ignore_errors=True)
os.makedirs(duck_dir)
con = duckdb.connect()
con.execute("SET threads = 2")
p0 = time.process_time()
t0 = time.perf_counter()
for s in sources:
    con.execute(
        f"COPY (SELECT * FROM read_json('{world}/{s}.jsonl', format='newline_delimited', ignore_errors=true)) "
        f"TO '{duck_dir}/{s}.parquet' (FORMAT parquet, COMPRESSION zstd)"
    )
duck_wall, duck_cpu = time.perf_counter() - t0, time.process_time() - p0
# DuckDB runs in this process: its peak includes Python's own few MiB.
duck_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

rows = [
    ("cdp ingest", cdp_wall, cdp_cpu, cdp_rss),
    ("duckdb read_json→COPY", duck_wall, duck_cpu, duck_rss),
]
print(f"ingest benchmark: {summary['persons']} persons, {lines} JSONL lines, {os.cpu_count()} cores")
print(f"{'':24} {'wall s':>8} {'cpu s':>8} {'events/s':>12} {'events/s/core':>14} {'peak RSS MiB':>13}")
for name, wall, cpu, rss in rows:
    print(f"{name:24} {wall:8.1f} {cpu:8.1f} {lines / wall:12,.0f} {lines / cpu:14,.0f} {rss:13,.0f}")
files = sum(len(fs) for _, _, fs in os.walk(os.path.join(lake, "events")))
print(f"cdp events files: {files}, report files_written {report['files_written']}")
print(f"ratio cdp/duckdb: events/s {duck_wall / cdp_wall:.2f}, events/s per core {duck_cpu / cdp_cpu:.2f}")
