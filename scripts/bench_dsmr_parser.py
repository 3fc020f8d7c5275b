"""Times the reference Python parser (dsmr_parser) on p1mqtt's example telegrams.

Run by scripts/bench-compare.sh inside a throwaway virtual environment; prints one line per file:
`<file> <telegrams per second>`. Like p1mqtt's figure, each round is framing + CRC + parsing: the telegram goes
through the library's TelegramBuffer and then its parser with the spec of its variant, the way Home
Assistant's DSMR integration uses the library.
"""
import sys
import time

from dsmr_parser import telegram_specifications as specs
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.parsers import TelegramParser

SPEC_BY_FILE = {
    "austria.txt": specs.SAGEMCOM_T210_D_R,
    "belgium.txt": specs.BELGIUM_FLUVIUS,
    "dsmr22.txt": specs.V2_2,
    "dsmr3.txt": specs.V3,
    "dsmr4.txt": specs.V4,
    "dsmr5.txt": specs.V5,
    "dsmr5_heat.txt": specs.V5,
    "dsmr5_two_gas.txt": specs.V5,
    "eon_hungary.txt": specs.EON_HUNGARY,
    "iskra_ie.txt": specs.ISKRA_IE,
    "luxembourg.txt": specs.LUXEMBOURG_SMARTY,
    "q3d.txt": specs.Q3D,
    "sweden.txt": specs.SWEDEN,
}


def rate(path, spec, seconds):
    data = open(path, "rb").read().decode("latin-1")
    # The gateway trailer after '!' (Q3D) is not part of the telegram the parser is given.
    end = data.index("!")
    end = data.index("\n", end) + 1 if "\n" in data[end:] else len(data)
    telegram = data[:end]
    if spec.get("general_global_cipher"):
        # p1mqtt's example is the decrypted telegram; parse it as the plaintext inside the frame.
        spec = dict(spec, general_global_cipher=False)
    parser = TelegramParser(spec)
    parser.parse(telegram)  # fail loudly if the spec does not fit
    buffer = TelegramBuffer()
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            buffer.append(telegram)
            for framed in buffer.get_all():
                parser.parse(framed)
                count += 1
    return count / (time.perf_counter() - start)


def main():
    seconds = float(sys.argv[1])
    for path in sys.argv[2:]:
        name = path.rsplit("/", 1)[-1]
        spec = SPEC_BY_FILE.get(name)
        if spec is None:
            continue
        print(f"{name} {rate(path, spec, seconds):.1f}", flush=True)


if __name__ == "__main__":
    main()
