"""The little of the protobuf wire format the studio reads and writes by hand: varints and the
fields of a message. Used to patch Piper's ONNX graph (`singing.py`) and, by the developer tool
`tools/convert_musicnn.py`, to read a TensorFlow checkpoint, without onnx or protobuf packages."""

from __future__ import annotations

from collections.abc import Iterator


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, position after it) of the base-128 varint at `pos`."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def length_delimited(field: int, payload: bytes) -> bytes:
    """One length-delimited field (wire type 2): a string, bytes or an embedded message."""
    return encode_varint(field << 3 | 2) + encode_varint(len(payload)) + payload


def iter_fields(buf: bytes | memoryview, start: int = 0, end: int | None = None
                ) -> Iterator[tuple[int, int, int | tuple[int, int]]]:
    """(field number, wire type, value) of each field of the message in buf[start:end]: the
    integer for a varint (wire type 0), else the (start, end) span of its bytes in `buf`."""
    pos, end = start, len(buf) if end is None else end
    while pos < end:
        tag, pos = read_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            yield field, wire, value
            continue
        if wire == 2:
            size, pos = read_varint(buf, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, (pos, pos + size)
        pos += size
