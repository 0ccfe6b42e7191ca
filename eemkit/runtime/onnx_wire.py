"""A fixed-shape ONNX model made shape-free, edited at the protobuf wire level (no `onnx` package).

The runtime install has onnxruntime but not onnx, and ONNX Runtime refuses an input whose size differs
from a fixed dimension in the graph. `free_dims(model_bytes)` rewrites every dimension of the graph's
inputs and outputs as a named (symbolic) one, drops initializers that are also listed as graph inputs
(old exporters did that; ONNX Runtime then cannot treat them as constants) and drops the stored
intermediate shapes (ONNX Runtime infers them again). Everything else is copied byte for byte.

Field numbers are those of onnx.proto (ModelProto.graph = 7; GraphProto.initializer = 5, input = 11,
output = 12, value_info = 13; TensorProto.name = 8; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
TypeProto.Tensor.shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2).
"""

from __future__ import annotations

from eemkit.errors import EemkitError

VARINT, I64, LEN, I32 = 0, 1, 2, 5

Field = tuple[int, int, bytes, bytes]  # (number, wire type, the whole field as stored, its payload)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """The varint at buf[i:] and the index after it."""
    value, shift = 0, 0
    while True:
        if i >= len(buf):
            raise EemkitError("truncated protobuf: is this an ONNX file?")
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def parse(buf: bytes) -> list[Field]:
    """The top-level fields of one protobuf message, in order. Raises EemkitError on a malformed buffer."""
    fields, i = [], 0
    while i < len(buf):
        start = i
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            _, i = _varint(buf, i)
            payload = buf[start:i]
        elif wt == LEN:
            n, j = _varint(buf, i)
            i = j + n
            payload = buf[j:i]
        elif wt in (I64, I32):
            i += 8 if wt == I64 else 4
            payload = buf[i - (8 if wt == I64 else 4):i]
        else:
            raise EemkitError(f"unsupported protobuf wire type {wt}: is this an ONNX file?")
        if i > len(buf):
            raise EemkitError("truncated protobuf: is this an ONNX file?")
        fields.append((num, wt, buf[start:i], payload))
    return fields


def length_field(num: int, payload: bytes) -> bytes:
    """A length-delimited field (a sub-message or a string) encoded."""
    return _encode_varint(num << 3 | LEN) + _encode_varint(len(payload)) + payload


def string_of(msg: bytes, num: int) -> str | None:
    """The first string field `num` of a message, or None."""
    for n, wt, _, payload in parse(msg):
        if n == num and wt == LEN:
            return payload.decode("utf-8", "replace")
    return None


def _replace(msg: bytes, num: int, edit) -> bytes:
    """`msg` with each length-delimited field `num` replaced by edit(payload) (None drops it)."""
    out = []
    for n, wt, raw, payload in parse(msg):
        if n == num and wt == LEN:
            new = edit(payload)
            if new is not None:
                out.append(length_field(n, new))
        else:
            out.append(raw)
    return b"".join(out)


def _symbolic_value_info(vi: bytes) -> bytes:
    """A ValueInfoProto whose tensor dimensions are all named `<tensor name>_<axis>`."""
    name = string_of(vi, 1) or "t"
    axis = iter(range(64))

    def dim(_: bytes) -> bytes:
        return length_field(2, f"{name}_{next(axis)}".encode())

    def shape(s: bytes) -> bytes:
        return _replace(s, 1, dim)

    def tensor(t: bytes) -> bytes:
        return _replace(t, 2, shape)

    return _replace(vi, 2, lambda ty: _replace(ty, 1, tensor))


def _free_graph(graph: bytes) -> bytes:
    fields = parse(graph)
    initializers = {string_of(p, 8) for n, wt, _, p in fields if n == 5 and wt == LEN}
    out = []
    for n, wt, raw, payload in fields:
        if wt == LEN and n == 11 and string_of(payload, 1) in initializers:
            continue  # an initializer listed as an input: let it be a constant
        if wt == LEN and n == 13:
            continue  # stored intermediate shapes, stale once the input size changes
        out.append(length_field(n, _symbolic_value_info(payload)) if wt == LEN and n in (11, 12) else raw)
    return b"".join(out)


def free_dims(model: bytes) -> bytes:
    """The serialized ModelProto `model` with symbolic input/output dimensions (see the module docstring).
    Raises EemkitError when the bytes are not a model with a graph."""
    if not any(n == 7 and wt == LEN for n, wt, _, _ in parse(model)):
        raise EemkitError("not an ONNX model (no graph)")
    return _replace(model, 7, _free_graph)
