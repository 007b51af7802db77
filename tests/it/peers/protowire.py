"""Protobuf encoding and decoding by hand, from field numbers alone: what the wire checks and the
benchmark bodies build messages with, and the peers read them with, so that none depends on our
.proto files."""


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


def decode(data: bytes) -> dict:
    """Field number -> list of values (ints for varints and fixed-width fields, bytes for
    length-delimited ones)."""
    fields, offset = {}, 0

    def read_varint():
        nonlocal offset
        value, shift = 0, 0
        while True:
            byte = data[offset]
            offset += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while offset < len(data):
        key = read_varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value = read_varint()
        elif wire_type in (1, 5):  # fixed64, fixed32
            size = 8 if wire_type == 1 else 4
            value = int.from_bytes(data[offset : offset + size], "little")
            offset += size
        elif wire_type == 2:
            length = read_varint()
            value = data[offset : offset + length]
            offset += length
        else:
            raise ValueError(f"unexpected wire type {wire_type} for field {number}")
        fields.setdefault(number, []).append(value)
    return fields
