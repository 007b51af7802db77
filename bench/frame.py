"""Write a gRPC-framed request body for h2load: a 5-byte prefix (not compressed, big-endian
length) and a protobuf message encoded by hand from the wire contracts' field numbers.

usage: frame.py empty | tyk-pre | extension TOKEN
"""

import struct
import sys


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: str) -> bytes:
    return field(number, field(1, key) + field(2, value))


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


def main() -> None:
    kind = sys.argv[1]
    message = {"empty": lambda: b"", "tyk-pre": tyk_pre, "extension": lambda: extension(sys.argv[2])}[kind]()
    sys.stdout.buffer.write(struct.pack(">BI", 0, len(message)) + message)


if __name__ == "__main__":
    main()
