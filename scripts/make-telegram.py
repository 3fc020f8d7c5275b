#!/usr/bin/env python3
"""Turn a hand-written P1 telegram into the exact bytes a meter sends.

Usage: python3 scripts/make-telegram.py [--unpadded] SOURCE > examples/telegrams/NAME.txt

- Line endings (LF or CRLF) become CRLF; every line, the last included, ends in CRLF.
- The telegram ends at the first line starting with `!`. A bare `!` stays as it is (a meter without CRC).
  `!` followed by anything (a marker such as `!CRC`, or an old CRC) gets the CRC-16/ARC (poly 0xA001
  reflected, init 0, no final xor) of every byte from `/` through `!` inclusive, as 4 uppercase hex digits.
- --unpadded writes the CRC without leading zeros (meters such as the Warmtelink send `!B3A` for 0x0B3A);
  it fails unless the CRC is below 0x1000, so a value can be tweaked until it is.
- Lines after the `!` line are a gateway's trailer (EasyMeter COM-1): kept, with `\\xHH` turned into the
  byte 0xHH there (e.g. a line of 0xFF fillers), and nowhere else.
The CRC is also reported on stderr. Re-running the tool on its own output gives the same bytes.
"""
import re
import sys


def crc16_arc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def make(source: bytes, unpadded: bool = False) -> bytes:
    lines = source.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.startswith(b"/")), None)
    end = next((i for i, line in enumerate(lines) if line.startswith(b"!")), None)
    if start is None or end is None or end < start:
        raise SystemExit("make-telegram: no '/' header line followed by a '!' line")
    body = b"".join(line + b"\r\n" for line in lines[start:end]) + b"!"
    if lines[end] == b"!":
        out = body + b"\r\n"
        print("make-telegram: no CRC", file=sys.stderr)
    else:
        crc = crc16_arc(body)
        if unpadded:
            if crc >= 0x1000:
                raise SystemExit(f"make-telegram: CRC {crc:04X} has 4 digits; tweak a value and retry")
            text = f"{crc:X}"
        else:
            text = f"{crc:04X}"
        out = body + text.encode() + b"\r\n"
        print(f"make-telegram: CRC {text}", file=sys.stderr)
    for line in lines[end + 1:]:
        line = re.sub(rb"\\x([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), line)
        out += line + b"\r\n"
    return out


def main() -> None:
    args = sys.argv[1:]
    unpadded = "--unpadded" in args
    args = [a for a in args if a != "--unpadded"]
    if len(args) != 1:
        raise SystemExit(__doc__)
    with open(args[0], "rb") as handle:
        sys.stdout.buffer.write(make(handle.read(), unpadded))


if __name__ == "__main__":
    main()
