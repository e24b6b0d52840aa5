"""A stand-in for the inbox under Textual's web driver: says who it runs as, echoes keys.

It speaks the driver's packets (``__GANGLION__``, then ``D``/``M`` + 4-byte length + payload)
and quits on the ``quit`` meta packet, as the real app does.
"""

import json
import os
import sys


def send(kind: bytes, payload: bytes) -> None:
    sys.stdout.buffer.write(kind + len(payload).to_bytes(4, "big") + payload)
    sys.stdout.buffer.flush()


def main() -> None:
    sys.stdout.buffer.write(b"__GANGLION__\n")
    send(b"D", f"agent={os.environ.get('COCCINELLE_AGENT')}".encode())
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(5)
        if len(head) < 5:
            return
        payload = stdin.read(int.from_bytes(head[1:], "big"))
        if head[:1] == b"D":
            send(b"D", b"key=" + payload)
        elif json.loads(payload).get("type") == "quit":
            return


if __name__ == "__main__":
    main()
