"""The values that cross between the trusted grader and a submission's worker process.

Only plain data crosses, in a format this module parses itself (never ``pickle``):

- ``None``, ``bool``, ``int``, ``float``, ``str``, and lists, tuples and dicts of them;
- numpy arrays and scalars of numeric or boolean dtype, and torch tensors (dense, CPU);
- instances of the course's own dataclasses (``course.*``), rebuilt field by field;
- a *reference* to an object that stays in the worker (the trusted side sees a handle only).

A message is one frame: an 8-byte length, a JSON header and the raw bytes of the arrays it
holds. Every frame, array and nesting level is checked against limits before it is used.
Arrays cross without intermediate copies: the sender hands the socket views of their memory,
the receiver reads a frame into one buffer and copies each array out of it once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
import socket
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_FRAME_BYTES = 512 * 2**20
MAX_DEPTH = 32
HEADER = struct.Struct("!Q")
COALESCE_BYTES = 64 * 2**10  # smaller parts of a frame are joined and sent in one call
FIRST_READ_BYTES = 16 * 2**20  # a frame buffer starts at most this large
NUMPY_KINDS = "biufc"  # bool, signed, unsigned, float, complex
TORCH_DTYPES = (
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2",
)  # fmt: skip
DATACLASS_PACKAGE = "course."


class WireError(Exception):
    """A frame or value that does not follow the format; the message is one line."""


class Closed(Exception):
    """The other side closed the connection (or the process behind it ended)."""


@dataclasses.dataclass(frozen=True)
class Ref:
    """A handle to an object that lives in the worker: its number and type name."""

    number: int
    type_name: str


def _numpy_dtype(name: str) -> np.dtype:
    """A numpy dtype from its name, for numeric and boolean kinds only."""
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise WireError(f"unknown array dtype {name!r}") from None
    if dtype.kind not in NUMPY_KINDS or dtype.hasobject:
        raise WireError(f"arrays of dtype {name!r} cannot be sent")
    return dtype


class Encoder:
    """Turns a value into a JSON-ready tree plus a list of byte buffers.

    ``to_ref`` is called for values that are not plain data; without it they are an error.
    """

    def __init__(self, to_ref: Callable[[Any], Ref] | None = None) -> None:
        self.buffers: list[memoryview] = []  # views of the arrays' own memory, not copies
        self.to_ref = to_ref

    def _buffer(self, data: np.ndarray) -> int:
        """Hold the bytes of a C-contiguous array (a view: the array must not change before
        the frame is sent); returns the buffer's index."""
        self.buffers.append(memoryview(data.reshape(-1).view(np.uint8)))
        return len(self.buffers) - 1

    def encode(self, value: Any, depth: int = 0) -> Any:
        """The JSON-ready form of ``value``."""
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return {"int": str(value)} if abs(value) > 2**53 else value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in NUMPY_KINDS:
            array = np.asarray(value)
            array = array if array.flags.c_contiguous else np.ascontiguousarray(array)
            return {
                "ndarray" if isinstance(value, np.ndarray) else "npscalar": array.dtype.str,
                "shape": list(array.shape),
                "data": self._buffer(array),
            }
        tensor = _as_tensor(value)
        if tensor is not None:
            return tensor(self)
        if type(value) in (list, tuple):
            if _all_plain(value):  # the common case, without a call per item
                items = list(value)
            else:
                items = [self.encode(item, depth + 1) for item in value]
            return items if type(value) is list else {"tuple": items}
        if type(value) is dict:
            return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}  # fmt: skip
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            module = type(value).__module__
            if module.startswith(DATACLASS_PACKAGE):
                fields = {f.name: self.encode(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value) if f.init}  # fmt: skip
                return {"dataclass": f"{module}:{type(value).__qualname__}", "fields": fields}
        if isinstance(value, Ref):
            return {"ref": value.number, "type": value.type_name}
        if self.to_ref is not None:
            ref = self.to_ref(value)
            return {"ref": ref.number, "type": ref.type_name}
        raise WireError(f"a value of type {type(value).__name__} cannot be sent")


def _all_plain(items: list | tuple) -> bool:
    """Whether every item is sent as it is: None, a bool, a str, a finite float, or an int
    of at most 53 bits."""
    for item in items:
        kind = type(item)
        if kind is float:
            if item - item != 0.0:  # inf or nan
                return False
        elif kind is int:
            if not -(2**53) <= item <= 2**53:
                return False
        elif not (item is None or kind is str or kind is bool):
            return False
    return True


def _all_scalars(items: list) -> bool:
    """Whether a received list holds no lists or objects (its items decode to themselves)."""
    return all(type(item) not in (list, dict) for item in items)


def _as_tensor(value: Any):
    """An encoder step for a torch tensor, or None (torch is imported only if already loaded)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return None

    def step(encoder: Encoder) -> dict:
        tensor = value.detach()
        if tensor.layout != torch.strided or tensor.device.type != "cpu":
            tensor = tensor.to_dense() if tensor.layout != torch.strided else tensor
            tensor = tensor.cpu()
        tensor = tensor.contiguous()
        name = str(tensor.dtype).removeprefix("torch.")
        if name not in TORCH_DTYPES:
            raise WireError(f"tensors of dtype {name} cannot be sent")
        raw = tensor.reshape(-1).view(torch.uint8).numpy() if tensor.numel() else np.empty(0)
        return {"tensor": name, "shape": list(tensor.shape), "data": encoder._buffer(raw)}

    return step


class Decoder:
    """Rebuilds values from a JSON tree and its buffers; ``from_ref`` maps references."""

    def __init__(self, buffers: list[memoryview], from_ref: Callable[[Ref], Any] | None = None):
        self.buffers = buffers  # byte views into the received frame
        self.from_ref = from_ref

    def _data(self, index: Any) -> memoryview:
        if not isinstance(index, int) or not 0 <= index < len(self.buffers):
            raise WireError("an array refers to missing data")
        return self.buffers[index]

    def decode(self, tree: Any, depth: int = 0) -> Any:
        """The value that ``tree`` describes."""
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if tree is None or isinstance(tree, bool | int | float | str):
            return tree
        if isinstance(tree, list):
            if _all_scalars(tree):
                return tree
            return [self.decode(item, depth + 1) for item in tree]
        if not isinstance(tree, dict) or len(tree) == 0:
            raise WireError("malformed value")
        if "int" in tree:
            return int(str(tree["int"])[:400])
        if "float" in tree:
            text = str(tree["float"])
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(text)
        if "ndarray" in tree or "npscalar" in tree:
            dtype = _numpy_dtype(str(tree.get("ndarray", tree.get("npscalar"))))
            shape = _shape(tree.get("shape"))
            data = self._data(tree.get("data"))
            if len(data) != dtype.itemsize * math.prod(shape):
                raise WireError("array data does not match its shape")
            array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
            return array if "ndarray" in tree else array[()]
        if "tensor" in tree:
            return _decode_tensor(tree, self._data(tree.get("data")))
        if "tuple" in tree:
            items = _list(tree["tuple"])
            if _all_scalars(items):
                return tuple(items)
            return tuple(self.decode(item, depth + 1) for item in items)
        if "dict" in tree:
            result = {}
            for pair in _list(tree["dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict")
                key = self.decode(pair[0], depth + 1)
                try:
                    result[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise WireError("a dict key that cannot be hashed") from None
            return result
        if "dataclass" in tree:
            return _decode_dataclass(tree, lambda v: self.decode(v, depth + 1))
        if "ref" in tree:
            ref = Ref(int(tree["ref"]), str(tree.get("type", "object"))[:100])
            if self.from_ref is None:
                raise WireError("unexpected object reference")
            return self.from_ref(ref)
        raise WireError("malformed value")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise WireError("malformed value")
    return value


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise WireError("malformed array shape")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in value):
        raise WireError("malformed array shape")
    return tuple(value)


def _decode_tensor(tree: dict, data: memoryview):
    import torch

    name = str(tree["tensor"])
    if name not in TORCH_DTYPES:
        raise WireError(f"tensors of dtype {name} cannot be received")
    dtype = getattr(torch, name)
    shape = _shape(tree.get("shape"))
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(data) != itemsize * math.prod(shape):
        raise WireError("tensor data does not match its shape")
    tensor = torch.empty(shape, dtype=dtype)
    if len(data):  # one copy, into the tensor's own memory
        tensor.reshape(-1).view(torch.uint8).numpy()[:] = np.frombuffer(data, dtype=np.uint8)
    return tensor


def _decode_dataclass(tree: dict, decode: Callable[[Any], Any]):
    """An instance of a course dataclass, rebuilt from its fields by calling the class."""
    where = str(tree["dataclass"])
    module_name, _, qualname = where.partition(":")
    if not module_name.startswith(DATACLASS_PACKAGE) or not qualname.isidentifier():
        raise WireError(f"objects of {where} cannot be received")
    try:
        cls = getattr(importlib.import_module(module_name), qualname, None)
    except Exception:  # a missing or broken module: the value cannot be rebuilt
        raise WireError(f"objects of {where} cannot be received") from None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise WireError(f"{where} is not a course dataclass")
    fields = tree.get("fields")
    if not isinstance(fields, dict):
        raise WireError("malformed dataclass")
    return cls(**{str(k): decode(v) for k, v in fields.items()})


def source_key(source: str) -> str:
    """A short name for a test file's source text, so a worker is sent each file once."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def frame(message: dict, encoder: Encoder | None = None) -> list[bytes | memoryview]:
    """One frame, in parts for ``send``: the length, the JSON header (with the buffers' sizes),
    then views of the arrays' bytes."""
    encoder = encoder or Encoder()
    body = encoder.encode(message)
    sizes = [len(b) for b in encoder.buffers]
    header = json.dumps({"body": body, "sizes": sizes}, allow_nan=False).encode()
    size = 4 + len(header) + sum(sizes)
    if size > MAX_FRAME_BYTES:
        raise WireError(f"a message of {size // 2**20} MB is too large to send")
    return [HEADER.pack(size) + struct.pack("!I", len(header)) + header, *encoder.buffers]


def pack(message: dict, encoder: Encoder | None = None) -> bytes:
    """One frame as bytes: length, JSON header, then the buffers."""
    return b"".join(frame(message, encoder))


def unpack(
    payload: bytes | bytearray | memoryview, from_ref: Callable[[Ref], Any] | None = None
) -> Any:
    """The message in one frame's payload (without its length prefix)."""
    try:
        view = memoryview(payload).cast("B")
        (size,) = struct.unpack_from("!I", view)
        header = json.loads(bytes(view[4 : 4 + size]))
        sizes = header["sizes"]
        if not isinstance(sizes, list) or not all(isinstance(n, int) and n >= 0 for n in sizes):
            raise WireError("malformed frame")
        buffers, offset = [], 4 + size
        for n in sizes:
            buffers.append(view[offset : offset + n])
            offset += n
        if offset != len(view):
            raise WireError("malformed frame")
        return Decoder(buffers, from_ref).decode(header["body"])
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, struct.error, RecursionError) as error:
        raise WireError(f"malformed frame ({type(error).__name__})") from None


def send(sock: socket.socket, frame: bytes | list[bytes | memoryview]) -> None:
    """Send one frame (``pack``'s bytes, or ``frame``'s parts); large arrays go from their own
    memory, small parts are joined first."""
    parts = [frame] if isinstance(frame, bytes | bytearray) else frame
    try:
        small: list[bytes | memoryview] = []
        for part in parts:
            if len(part) < COALESCE_BYTES:
                small.append(part)
                continue
            if small:
                sock.sendall(b"".join(small))
                small = []
            sock.sendall(part)
        if small:
            sock.sendall(b"".join(small))
    except OSError as error:
        raise Closed(str(error)) from None


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    """``size`` bytes from ``sock``, read into one buffer.

    Above ``FIRST_READ_BYTES`` the buffer doubles as the data arrives, so a peer that announces
    a large frame and sends little of it costs little memory.
    """
    buffer = bytearray(min(size, FIRST_READ_BYTES))
    got = 0
    while got < size:
        if got == len(buffer):
            buffer *= 2  # the copied half is overwritten by what arrives next
        try:
            count = sock.recv_into(memoryview(buffer)[got:], min(size, len(buffer)) - got)
        except OSError as error:
            raise Closed(str(error)) from None
        if not count:
            raise Closed("the connection was closed")
        got += count
    del buffer[size:]
    return buffer


def receive(sock: socket.socket, from_ref: Callable[[Ref], Any] | None = None) -> Any:
    """Read one frame and return its message."""
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if size > MAX_FRAME_BYTES:
        raise WireError(f"a message of {size // 2**20} MB is larger than the limit")
    return unpack(_read_exactly(sock, size), from_ref)
