"""Write a gRPC-framed request body for h2load: a 5-byte prefix (not compressed, big-endian
length) and a protobuf message encoded by hand from the wire contracts' field numbers.

usage: frame.py empty | tyk-pre | extension TOKEN | extension-tokens FILE

`extension-tokens` writes one framed ExtensionData request for each token of FILE (one a line),
one after another, for bench/grpc-load to cycle through.
"""

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests/it/peers"))
from protowire import field, map_entries  # noqa: E402


def entry(number: int, key: str, value: str) -> bytes:
    return map_entries(number, {key: value})


def tyk_pre() -> bytes:
    # coprocess.Object: hook_type 1, hook_name 2, request 3, spec 6.
    request = (
        entry(1, "User-Agent", "h2load")
        + entry(1, "Accept", "*/*")
        + field(5, "/pet/findByStatus?status=available")
        + entry(6, "status", "available")
        + field(10, field(1, -1))
        + field(11, "GET")
    )
    return field(1, 1) + field(2, "MyPrePluginMiddleware") + field(3, request) + entry(6, "APIID", "bench")


def extension(token: str) -> bytes:
    # protos.ExtensionRequest: data 1, indicators 2, action 3, config_json 4, token 5.
    return (
        field(1, '{"id": 1, "value": 42}')
        + field(2, "ndvi")
        + field(3, "process")
        + field(4, '{"threshold": 0.5}')
        + field(5, token)
    )


def frame(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


def main() -> None:
    kind = sys.argv[1]
    if kind == "extension-tokens":
        tokens = Path(sys.argv[2]).read_text().split()
        sys.stdout.buffer.write(b"".join(frame(extension(token)) for token in tokens))
        return
    message = {"empty": lambda: b"", "tyk-pre": tyk_pre, "extension": lambda: extension(sys.argv[2])}[kind]()
    sys.stdout.buffer.write(frame(message))


if __name__ == "__main__":
    main()
