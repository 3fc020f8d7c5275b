"""Starts one program and follows its resident memory from exec on; used by scripts/bench-startup.sh.

Usage: startup_trace.py SECONDS TRACE_MS SAMPLE_TIMES URLS -- COMMAND...
  SECONDS       how long the program runs before it is stopped (SIGTERM)
  TRACE_MS      for this many milliseconds after exec, /proc/PID/status is read as fast as possible and
                every change of VmRSS is recorded (0: no trace)
  SAMPLE_TIMES  comma-separated seconds after exec at which VmRSS is sampled ("1,4,15")
  URLS          comma-separated addresses fetched just before each sample ("-" for none): the web server's
                work is part of what is measured
Prints one JSON object: {"samples": {"1": kB, ...}, "hwm": kB, "anon": kB, "trace": [[ms, kB], ...],
"exit": code}. VmHWM is the highest resident size the kernel saw, start-up included.
"""
import json
import subprocess
import sys
import time
import urllib.request


def status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon"):
                    values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return values


def main():
    split = sys.argv.index("--")
    seconds, trace_ms = float(sys.argv[1]), float(sys.argv[2])
    times = [float(t) for t in sys.argv[3].split(",") if t]
    urls = [] if sys.argv[4] == "-" else sys.argv[4].split(",")
    command = sys.argv[split + 1:]

    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    trace, last = [], None
    while (elapsed := time.monotonic() - start) * 1000 < trace_ms and process.poll() is None:
        rss = status(process.pid).get("VmRSS")
        if rss is not None and rss != last:
            trace.append([round(elapsed * 1000, 1), rss])
            last = rss

    samples = {}
    for due in times:
        if due > seconds:
            break
        time.sleep(max(0.0, start + due - time.monotonic()))
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
            except OSError as error:
                print(f"startup_trace: {url}: {error}", file=sys.stderr)
        samples[f"{due:g}"] = status(process.pid).get("VmRSS")

    time.sleep(max(0.0, start + seconds - time.monotonic()))
    final = status(process.pid)
    process.terminate()
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    print(json.dumps({"samples": samples, "hwm": final.get("VmHWM"), "anon": final.get("RssAnon"),
                      "trace": trace, "exit": code}))


if __name__ == "__main__":
    main()
