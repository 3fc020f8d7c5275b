"""Harness of scripts/bench-e2e.sh: a loopback TCP "meter", the bridge under test and the subscribers, in one
process so that write and arrival times come from the same clock (time.perf_counter).

Modes (each prints one JSON object on standard output):

  throughput  all telegrams written as fast as the bridge reads them; every message counted by a
              mosquitto_sub (C, so the subscriber is not the bottleneck); CPU time of the bridge process
              from /proc/PID/stat.
  latency     telegrams written at --rate per second; a subscriber on its own thread stamps every message
              (a minimal plain-socket MQTT client, or paho-mqtt with --paho); per telegram: from the moment its last byte (the `!XXXX` line) was written to
              the arrival of its last message (the JSON telegram topic, which both bridges publish after
              the values; the messages counted since the previous JSON must be the full set).
  floor       latency mode's measuring chain alone: mosquitto_pub -l (C, libmosquitto) handed --messages
              messages at once at --rate per second; to the arrival of the last one.
  ceiling     mosquitto_pub -l with --messages messages, counted the same way as in throughput mode.

The bridge command is given after `--`; `{meter}` in it is replaced by the meter's address (HOST:PORT).
Runs inside the benchmark's virtual environment (paho-mqtt). Not part of the test run.
"""
import argparse
import datetime
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

TICKS = os.sysconf("SC_CLK_TCK")
TELEGRAM = re.compile(rb"/[^!]*![0-9A-Fa-f]{0,4}\r?\n")
METER_TIME = re.compile(rb"0-0:1\.0\.0\((\d{12})([SW]?)\)")
ISO_TIME = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')


def meter_epoch(telegram):
    """Unix seconds of the telegram's 0-0:1.0.0 (S = summer time, UTC+2; W = winter time, UTC+1)."""
    match = METER_TIME.search(telegram)
    digits, season = match.group(1).decode(), match.group(2)
    local = datetime.datetime.strptime(digits, "%y%m%d%H%M%S")
    offset = 2 if season == b"S" else 1
    return int((local - datetime.timedelta(hours=offset)).replace(tzinfo=datetime.timezone.utc).timestamp())


def json_epoch(payload):
    """Unix seconds of the first timestamp in a JSON telegram (both bridges put the telegram's own first)."""
    match = ISO_TIME.search(payload.decode("utf-8", "replace"))
    if not match:
        return None
    return int(datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp())


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_kb(pid):
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                values[key] = int(rest.split()[0])
    return values


class Watcher:
    """A subscriber on its own thread that stamps every message on arrival. By default a minimal MQTT 3.1.1
    client on a plain socket that takes the time as soon as recv() returns, before any parsing: paho's own
    per-message cost (several recv calls and Python objects per message, about 20-30 µs each) would add up to
    about a millisecond over a telegram's 40 messages. `paho=True` uses paho-mqtt (loop_start) instead."""

    def __init__(self, port, topic, paho=False):
        self.messages = []
        self.subscribed = threading.Event()
        self.running = True
        self.client_id = f"harness-{os.getpid()}-{time.monotonic_ns() % 1000000}"
        if paho:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id)
            self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=0)
            self.client.on_subscribe = lambda c, u, mid, rc, p: self.subscribed.set()
            self.client.on_message = self.on_message
            self.client.connect("127.0.0.1", port)
            self.client.loop_start()
        else:
            self.client = None
            self.sock = socket.create_connection(("127.0.0.1", port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            name = self.client_id.encode()
            connect = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(name).to_bytes(2, "big") + name
            self.sock.sendall(b"\x10" + self.length(len(connect)) + connect)
            filter_ = topic.encode()
            subscribe = b"\x00\x01" + len(filter_).to_bytes(2, "big") + filter_ + b"\x00"
            self.sock.sendall(b"\x82" + self.length(len(subscribe)) + subscribe)
            self.thread = threading.Thread(target=self.read, daemon=True)
            self.thread.start()
        if not self.subscribed.wait(10):
            raise SystemExit("harness: subscriber did not get its subscription")

    @staticmethod
    def length(value):
        encoded = bytearray()
        while True:
            byte, value = value % 128, value // 128
            encoded.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(encoded)

    def read(self):
        buffer, position = bytearray(), 0
        self.sock.settimeout(1)
        last_ping = time.monotonic()
        while self.running:
            if time.monotonic() - last_ping > 30:
                self.sock.sendall(b"\xc0\x00")  # PINGREQ within the 60 s keepalive
                last_ping = time.monotonic()
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            arrival = time.perf_counter()
            if not data:
                return
            buffer += data
            while True:
                # Fixed header: type and flags, then the remaining length (1 to 4 bytes of 7 bits).
                if len(buffer) - position < 2:
                    break
                size, shift, index = 0, 0, position + 1
                while index < len(buffer):
                    byte = buffer[index]
                    size |= (byte & 0x7F) << shift
                    shift += 7
                    index += 1
                    if not byte & 0x80:
                        break
                else:
                    break
                if len(buffer) - index < size:
                    break
                kind, body = buffer[position] >> 4, bytes(buffer[index:index + size])
                if kind == 3:  # PUBLISH
                    topic_length = int.from_bytes(body[:2], "big")
                    skip = 2 if (buffer[position] >> 1) & 3 else 0
                    self.messages.append((arrival, body[2:2 + topic_length].decode(), body[2 + topic_length + skip:]))
                elif kind == 9:  # SUBACK
                    self.subscribed.set()
                position = index + size
            if position > 1 << 20:
                del buffer[:position]
                position = 0

    def on_message(self, client, userdata, message):
        self.messages.append((time.perf_counter(), message.topic, message.payload))

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.messages):
                return True
            time.sleep(0.01)
        return False

    def stop(self):
        if self.client:
            self.client.disconnect()
            self.client.loop_stop()
        else:
            self.running = False
            try:
                self.sock.sendall(b"\xe0\x00")  # DISCONNECT
            except OSError:
                pass
            self.thread.join()
            self.sock.close()


class CountingSubscriber:
    """mosquitto_sub writing `<arrival seconds> <topic>` per message to a file."""

    def __init__(self, port, topic, path, probe):
        self.path = path
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "0", "-F", "%U %t"],
            stdout=open(path, "w"), stderr=subprocess.DEVNULL)
        # Ready once a probe message comes back (so that no message of the run is missed).
        while True:
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", probe, "-m", "x"], check=True)
            time.sleep(0.2)
            if os.path.getsize(path) > 0:
                return

    def lines(self):
        with open(self.path) as stream:
            return stream.readlines()

    def count(self, topic):
        suffix = " " + topic + "\n"
        with open(self.path) as stream:
            return sum(1 for line in stream if line.endswith(suffix))

    def stop(self):
        self.process.terminate()
        self.process.wait()


class Meter:
    """The loopback TCP "meter": accepts the bridge's connection and writes telegrams to it."""

    def __init__(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.address = "127.0.0.1:%d" % self.server.getsockname()[1]
        self.connection = None

    def accept(self, timeout):
        self.server.settimeout(timeout)
        self.connection, _ = self.server.accept()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data):
        self.connection.sendall(data)
        return time.perf_counter()

    def close(self):
        if self.connection:
            self.connection.close()
        self.server.close()


def start_bridge(command, meter, log):
    command = [part.replace("{meter}", meter.address) for part in command]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def stop_bridge(bridge):
    if bridge.poll() is None:
        bridge.terminate()
        try:
            bridge.wait(15)
        except subprocess.TimeoutExpired:
            bridge.kill()
            bridge.wait()


def own_topic(topic, prefix):
    return topic in (f"{prefix}/status", f"{prefix}/stats") or topic.startswith(f"{prefix}/probe")


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def warm_up(meter, telegrams, done, pace=0.1):
    for telegram in telegrams:
        meter.write(telegram)
        time.sleep(pace)
    if not done(len(telegrams)):
        raise SystemExit("harness: the warm-up telegrams did not all come through")


def run_throughput(options, telegrams, warm, measured):
    prefix, json_topic = options.prefix, f"{options.prefix}/telegram"
    counter = CountingSubscriber(options.broker_port, f"{prefix}/#", options.work + "/sub.txt", f"{prefix}/probe")
    watcher = Watcher(options.broker_port, f"{prefix}/status")
    meter = Meter()
    bridge = start_bridge(options.command, meter, options.log)
    try:
        if not watcher.wait_for(lambda m: any(p == b"online" for _, _, p in m), 30):
            raise SystemExit("harness: the bridge did not come online")
        meter.accept(30)

        def arrived(count):
            deadline, last, seen = time.monotonic() + 10, -1, 0
            while time.monotonic() < deadline:
                seen = counter.count(json_topic)
                if seen >= count:
                    return True
                if seen != last:
                    last, deadline = seen, time.monotonic() + 10
                time.sleep(0.1)
            return False

        warm_up(meter, warm, arrived)
        cpu_before, wall_before = cpu_seconds(bridge.pid), time.perf_counter()
        writer = threading.Thread(target=meter.write, args=(b"".join(measured),))
        writer.start()
        complete = arrived(len(warm) + len(measured))
        writer.join()
        cpu_after, wall_after = cpu_seconds(bridge.pid), time.perf_counter()
        memory = rss_kb(bridge.pid)
    finally:
        meter.close()
        stop_bridge(bridge)
        watcher.stop()
        counter.stop()
    # Messages after the last warm-up JSON telegram belong to the measured telegrams; each telegram's messages
    # end with its JSON telegram (one connection, QoS 0: the broker keeps the order).
    lines = [line.split(" ", 1) for line in counter.lines()]
    lines = [(float(t), topic.strip()) for t, topic in lines if not own_topic(topic.strip(), prefix)]
    jsons = [i for i, (_, topic) in enumerate(lines) if topic == json_topic]
    tail = lines[jsons[len(warm) - 1] + 1:]
    counts = [b - a for a, b in zip(jsons[len(warm) - 1:], jsons[len(warm):])]
    usual = statistics.mode(counts) if counts else 0
    missing = len(measured) - len(counts)
    lost = sum(usual - c for c in counts if c < usual) + missing * usual
    seconds = max(1e-6, tail[-1][0] - tail[0][0]) if tail else float("nan")
    return {
        "mode": "throughput", "telegrams": len(measured), "complete": complete,
        "telegrams_received": len(counts), "incomplete_telegrams": sum(1 for c in counts if c < usual),
        "messages": len(tail), "messages_per_telegram": usual, "lost_messages": lost,
        "seconds": seconds, "messages_per_s": len(tail) / seconds, "telegrams_per_s": len(counts) / seconds,
        "cpu_s": cpu_after - cpu_before,
        # Per telegram that came through (a bridge that drops input must not look cheaper for it).
        "cpu_us_per_telegram": (cpu_after - cpu_before) / max(1, len(counts)) * 1e6,
        "wall_s": wall_after - wall_before, "vmhwm_kb": memory.get("VmHWM"),
    }


def run_latency(options, telegrams, warm, measured):
    prefix, json_topic = options.prefix, f"{options.prefix}/telegram"
    watcher = Watcher(options.broker_port, f"{prefix}/#", options.paho)
    meter = Meter()
    bridge = start_bridge(options.command, meter, options.log)
    written = {}
    try:
        if not watcher.wait_for(lambda m: any(t == f"{prefix}/status" and p == b"online" for _, t, p in m), 30):
            raise SystemExit("harness: the bridge did not come online")
        meter.accept(30)
        jsons = lambda m: sum(1 for _, topic, _ in m if topic == json_topic)
        warm_up(meter, warm, lambda n: watcher.wait_for(lambda m: jsons(m) >= n, 10), 1 / options.rate)
        cpu_before = cpu_seconds(bridge.pid)
        start = time.perf_counter() + 0.05
        for index, telegram in enumerate(measured):
            due = start + index / options.rate
            while (remaining := due - time.perf_counter()) > 0:
                time.sleep(remaining)
            written[meter_epoch(telegram)] = meter.write(telegram)
        complete = watcher.wait_for(lambda m: jsons(m) >= len(warm) + len(measured), 10)
        cpu_after = cpu_seconds(bridge.pid)
        memory = rss_kb(bridge.pid)
    finally:
        meter.close()
        stop_bridge(bridge)
        watcher.stop()
    latencies, counts, unmatched = [], [], 0
    since = 0
    for arrival, topic, payload in list(watcher.messages):
        if own_topic(topic, prefix):
            continue
        since += 1
        if topic != json_topic:
            continue
        epoch = json_epoch(payload)
        if epoch in written:
            latencies.append((arrival - written[epoch]) * 1000)
            counts.append(since)
        elif epoch is None:
            unmatched += 1
        since = 0
    expected = statistics.mode(counts) if counts else 0
    return {
        "mode": "latency", "rate": options.rate, "telegrams": len(measured), "complete": complete,
        "telegrams_received": len(latencies), "unmatched_json": unmatched,
        "messages_per_telegram": expected, "incomplete_telegrams": sum(1 for c in counts if c < expected),
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies) if latencies else float("nan"),
        "cpu_us_per_telegram": (cpu_after - cpu_before) / max(1, len(latencies)) * 1e6,
        "vmrss_kb": memory.get("VmRSS"),
    }


def run_floor(options):
    """The measuring chain's own latency: a C publisher (mosquitto_pub -l, libmosquitto's threaded loop, like
    p1mqtt) is handed a telegram's worth of messages at once; from that moment to the arrival of the last."""
    prefix = options.prefix
    watcher = Watcher(options.broker_port, f"{prefix}/#", options.paho)
    publisher = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(options.broker_port), "-t",
                                  f"{prefix}/v", "-l", "-q", "0"], stdin=subprocess.PIPE)
    written = {}
    body = b"0.123\n" * (options.messages - 1)
    try:
        time.sleep(0.5)  # connected
        start = time.perf_counter() + 0.05
        for index in range(options.warmup + options.count):
            due = start + index / options.rate
            while (remaining := due - time.perf_counter()) > 0:
                time.sleep(remaining)
            publisher.stdin.write(body + b"end %d\n" % index)
            publisher.stdin.flush()
            written[index] = time.perf_counter()
        complete = watcher.wait_for(lambda m: sum(1 for _, _, p in m if p.startswith(b"end ")) >= len(written), 10)
    finally:
        publisher.stdin.close()
        publisher.wait()
        watcher.stop()
    latencies = []
    for arrival, _, payload in list(watcher.messages):
        if payload.startswith(b"end "):
            index = int(payload.split()[1])
            if index >= options.warmup:
                latencies.append((arrival - written[index]) * 1000)
    return {
        "mode": "floor", "rate": options.rate, "telegrams": options.count, "complete": complete,
        "telegrams_received": len(latencies), "messages_per_telegram": options.messages,
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies) if latencies else float("nan"),
    }


def run_ceiling(options):
    prefix = options.prefix
    counter = CountingSubscriber(options.broker_port, f"{prefix}/#", options.work + "/ceiling.txt", f"{prefix}/probe")
    lines = "".join("%d.%03d\n" % (i, i % 1000) for i in range(options.messages)).encode()
    try:
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(options.broker_port), "-t", f"{prefix}/x",
                        "-l", "-q", "0"], input=lines, check=True)
        deadline = time.monotonic() + 60
        while counter.count(f"{prefix}/x") < options.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        counter.stop()
    arrivals = [float(line.split(" ", 1)[0]) for line in counter.lines() if line.endswith(f" {prefix}/x\n")]
    seconds = max(1e-6, arrivals[-1] - arrivals[0])
    return {"mode": "ceiling", "messages": len(arrivals), "seconds": seconds, "messages_per_s": len(arrivals) / seconds}


def main():
    arguments = argparse.ArgumentParser()
    arguments.add_argument("mode", choices=["throughput", "latency", "floor", "ceiling"])
    arguments.add_argument("--broker-port", type=int, required=True)
    arguments.add_argument("--prefix", required=True, help="the bridge's base topic")
    arguments.add_argument("--capture", help="telegrams to write (warm-up first)")
    arguments.add_argument("--warmup", type=int, default=5)
    arguments.add_argument("--count", type=int, help="telegrams to measure (default: the rest of the capture)")
    arguments.add_argument("--rate", type=float, default=10, help="latency mode: telegrams per second")
    arguments.add_argument("--messages", type=int, default=0, help="ceiling: messages to send; floor: messages per telegram")
    arguments.add_argument("--paho", action="store_true", help="latency and floor: stamp arrivals with a paho-mqtt "
                           "subscriber (loop_start) instead of the plain-socket one")
    arguments.add_argument("--work", required=True, help="a directory for temporary files")
    arguments.add_argument("--log", default="/dev/null", help="where the bridge's standard error goes")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    options = arguments.parse_args(argv[:split])
    options.command = argv[split + 1:]
    if options.mode == "ceiling":
        result = run_ceiling(options)
    elif options.mode == "floor":
        result = run_floor(options)
    else:
        telegrams = TELEGRAM.findall(open(options.capture, "rb").read())
        warm = telegrams[:options.warmup]
        measured = telegrams[options.warmup:][:options.count] if options.count else telegrams[options.warmup:]
        run = run_throughput if options.mode == "throughput" else run_latency
        result = run(options, telegrams, warm, measured)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
