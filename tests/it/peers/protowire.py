"""Protobuf encoding by hand, from field numbers alone: what the wire checks and the benchmark
bodies build messages with, so that neither depends on our .proto files."""


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 values go out as ten-byte varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, value) -> bytes:
    """A varint field for an int, a length-delimited one for str or bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def map_entries(number: int, entries: dict) -> bytes:
    """A map<string, string> field: one length-delimited entry (key 1, value 2) per pair."""
    return b"".join(field(number, field(1, k) + field(2, v)) for k, v in entries.items())
