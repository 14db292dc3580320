"""Produces a generated world to fresh topics, then times a bare rdkafka
consumer that only counts and `cdp ingest` into a lake, over the same topics
on the same broker. Prints messages/s, messages/s per core (per CPU-second)
and the ratio. Run through kafka_ingest_vs_bare_consumer.sh."""
import json, os, re, resource, shutil, subprocess, sys, time

cdp, count, brokers, out = sys.argv[1:5]
world = os.path.join(out, "world")
sources = ["online", "offline", "ad", "transaction"]
summary = json.load(open(os.path.join(world, "truth", "summary.json")))
messages = sum(s["lines"] for s in summary["sources"])
prefix = f"bench-{int(time.time())}"
config = os.path.join(out, "pipeline.toml")
with open(config, "w") as f:
    f.write(f'[kafka]\ndead_letter_topic = "{prefix}.dlq"\n')
    # tansu 0.6 answers a fetch from inside a record batch with the next
    # batch (see crates/cdp/tests/it/support.rs), so a consumer that pauses
    # and resumes mid-batch skips messages. Produce ordinary batches (the
    # broker then serves ~10x faster than with one message per batch) and let
    # ingest buffer instead of pausing: every message fits in memory here.
    f.write(f'pause_at_waiting_messages = {messages * 2}\n')
    f.write('[kafka.topics]\n')
    for s in sources:
        f.write(f'"{prefix}.{s}" = "{s}"\n')
    f.write('[kafka.consumer_properties]\n"session.timeout.ms" = "6000"\n')
topics = [f"{prefix}.{s}" for s in sources]


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


tansu = shutil.which("tansu") or os.path.expanduser("~/.cargo/bin/tansu")
for t in topics + [f"{prefix}.dlq"]:
    subprocess.run([tansu, "topic", "create", "--broker", f"tcp://{brokers}", "--partitions", "3", t],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t0 = time.perf_counter()
subprocess.run([cdp, "--config", config, "produce", "--brokers", brokers]
               + [f"--input={s}={world}/{s}.jsonl" for s in sources],
               check=True, stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
print(f"produced {messages} messages in {time.perf_counter() - t0:.1f}s", flush=True)

# The bare consumer: counts until it has seen every message.
cpu0 = cpu_children()
line = subprocess.run([count, brokers, str(messages)] + topics, check=True,
                      capture_output=True, text=True).stdout
bare_cpu = cpu_children() - cpu0
bare_s = float(re.search(r"seconds ([\d.]+)", line).group(1))
bare_n = int(re.search(r"messages (\d+)", line).group(1))
assert bare_n == messages, line

# cdp ingest into a fresh lake.
lake = os.path.join(out, "lake")
shutil.rmtree(lake, ignore_errors=True)
cpu0 = cpu_children()
text = subprocess.run([cdp, "--config", config, "ingest", "--lake", lake, "--kafka", brokers,
                       "--group", f"{prefix}-cdp", "--until-idle", "3"],
                      check=True, capture_output=True, text=True,
                      env={**os.environ, "RUST_LOG": "warn"}).stdout
cdp_cpu = cpu_children() - cpu0
m = re.search(r"consumed (\d+) messages in ([\d.]+)s", text)
cdp_n, cdp_s = int(m.group(1)), float(m.group(2))
assert cdp_n == messages, text

rows = [("bare rdkafka count", bare_s, bare_cpu), ("cdp ingest → lake", cdp_s, cdp_cpu)]
print(f"kafka ingest benchmark: {summary['persons']} persons, {messages} messages, "
      f"{os.cpu_count()} cores, broker {brokers}")
print(f"{'':22} {'busy s':>8} {'cpu s':>8} {'msgs/s':>10} {'msgs/s/core':>12}")
for name, wall, cpu in rows:
    print(f"{name:22} {wall:8.2f} {cpu:8.2f} {messages / wall:10.0f} {messages / cpu:12.0f}")
print(f"ratio cdp / bare: {bare_s / cdp_s:.2f} (messages/s; goal >= 0.6)")
print(text.split("the lake holds")[0].strip())
