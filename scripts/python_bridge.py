"""A minimal DSMR 5 → MQTT bridge in Python, for comparison benchmarks (scripts/bench-e2e.sh, bench-home.sh).

Written the way a typical hobby bridge (dsmr2mqtt and friends) is: dsmr-parser frames the byte stream with its
TelegramBuffer and parses each telegram with the DSMR 5 specification, paho-mqtt publishes from the main
thread while its own network thread (loop_start) writes to the broker. Per telegram it publishes one retained
message per value on `<base>/<obis name lowercased>` (M-Bus values on `<base>/mbus_<channel>/<name>`), the
value as text, and then the whole telegram as JSON on `<base>/telegram`; QoS 0. Availability is
`<base>/status` (`online`, last will `offline`).

Not part of p1mqtt: it runs inside a throwaway virtual environment with pinned dsmr-parser and paho-mqtt that
the benchmark scripts create. Usage:

    python_bridge.py --broker 127.0.0.1:1883 --source tcp://127.0.0.1:2000
    python_bridge.py --broker 127.0.0.1:1883 --source file:capture.txt   (or --source - for standard input)
"""
import argparse
import datetime
import decimal
import signal
import socket
import sys
import time

import paho.mqtt.client as mqtt
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.exceptions import InvalidChecksumError, ParseError
from dsmr_parser.objects import MBusObject, ProfileGenericObject
from dsmr_parser.parsers import TelegramParser


def as_text(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return "" if value is None else str(value)


class Bridge:
    def __init__(self, host, port, base):
        self.base = base
        self.parser = TelegramParser(telegram_specifications.V5)
        self.buffer = TelegramBuffer()
        self.telegrams = 0
        self.errors = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{base}-{int(time.time())}")
        self.client.will_set(f"{base}/status", "offline", qos=1, retain=True)
        self.client.on_connect = self.on_connect
        self.client.connect(host, port, keepalive=60)
        self.client.loop_start()

    def on_connect(self, client, userdata, flags, reason_code, properties):
        client.publish(f"{self.base}/status", "online", qos=1, retain=True)

    def publish(self, topic, payload):
        self.client.publish(f"{self.base}/{topic}", payload, qos=0, retain=True)

    def feed(self, text):
        self.buffer.append(text)
        for telegram_text in self.buffer.get_all():
            try:
                telegram = self.parser.parse(telegram_text)
            except (InvalidChecksumError, ParseError) as error:
                self.errors += 1
                print(f"python_bridge: skipped telegram: {error}", file=sys.stderr)
                continue
            self.handle(telegram)

    def handle(self, telegram):
        for name, item in telegram:
            if name == "MBUS_DEVICES":
                for device in item:
                    for device_name, device_item in device:
                        self.publish_object(f"mbus_{device.channel_id}/{device_name.lower()}", device_item)
            else:
                self.publish_object(name.lower(), item)
        self.publish("telegram", telegram.to_json())
        self.telegrams += 1

    def publish_object(self, topic, item):
        if isinstance(item, ProfileGenericObject):
            self.publish(topic, item.to_json())
        elif isinstance(item, MBusObject):
            self.publish(topic, as_text(item.value))
            self.publish(f"{topic}_time", as_text(item.datetime))
        elif hasattr(item, "value"):
            self.publish(topic, as_text(item.value))

    def close(self):
        # The DISCONNECT packet queues behind everything published, so nothing is lost on the way out.
        self.client.disconnect()
        self.client.loop_stop()


def read_tcp(host, port, bridge, exit_at_end):
    while True:
        try:
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.settimeout(60)  # watchdog: a silent meter connection is replaced
                while True:
                    data = sock.recv(4096)
                    if not data:
                        break
                    bridge.feed(data.decode("latin-1"))
        except OSError as error:
            print(f"python_bridge: {host}:{port}: {error}", file=sys.stderr)
        if exit_at_end:
            return
        time.sleep(1)


def read_stream(stream, bridge):
    while True:
        data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not data:
            return
        bridge.feed(data.decode("latin-1"))


def main():
    arguments = argparse.ArgumentParser(description="Minimal DSMR 5 to MQTT bridge (dsmr-parser + paho-mqtt).")
    arguments.add_argument("--broker", default="localhost:1883", help="HOST[:PORT]")
    arguments.add_argument("--base-topic", default="pybridge")
    arguments.add_argument("--source", required=True, help="tcp://HOST:PORT, file:PATH or - (standard input)")
    arguments.add_argument("--exit-at-end", action="store_true", help="exit when the source ends")
    options = arguments.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, _, port = options.broker.partition(":")
    bridge = Bridge(host, int(port or 1883), options.base_topic)
    try:
        if options.source.startswith("tcp://"):
            meter_host, _, meter_port = options.source[len("tcp://"):].rpartition(":")
            read_tcp(meter_host, int(meter_port), bridge, options.exit_at_end)
        elif options.source == "-":
            read_stream(sys.stdin.buffer, bridge)
        elif options.source.startswith("file:"):
            with open(options.source[len("file:"):], "rb") as stream:
                read_stream(stream, bridge)
        else:
            arguments.error(f"unknown source {options.source}")
    except KeyboardInterrupt:
        pass
    finally:
        bridge.close()
        print(f"python_bridge: {bridge.telegrams} telegrams published, {bridge.errors} skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
