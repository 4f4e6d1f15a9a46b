"""How our events are written: the library's JSON transcoder and zlib compressor, faster.

Both write what the library's would read (and read everything it wrote); the applications are
given them by topic (TRANSCODER_TOPIC, COMPRESSOR_TOPIC) in their environment.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import orjson
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import JSONTranscoder

COMPRESSION_LEVEL = 3


class FastZlibCompressor(ZlibCompressor):
    """The library's zlib compressor at level 3 instead of zlib's default 6: on a ~10 kB
    hospital message event about half the CPU for ~7% more bytes. The stream is plain zlib,
    so the library's decompressor reads it, and this one reads every event stored before."""

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, COMPRESSION_LEVEL)


class _UnusualError(Exception):
    """A value the fast path leaves to the library's encoder."""


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, written by orjson: the same bytes (compact, UTF-8, the
    registered transcodings as `{"_type_": name, "_data_": ...}`), ~4x faster on a stored
    10 kB hospital message. Only exact str/int/bool/None/dict/list values and the registered
    transcodings' exact types are written here; anything else (floats, tuples, subclasses,
    ints over 64 bits, keys that are not strings, unknown types) goes to the library's
    encoder, which also decodes everything."""

    def encode(self, obj: Any) -> bytes:
        try:
            plain = _plain(obj, self.types)
        except (_UnusualError, RecursionError):
            return super().encode(obj)
        return orjson.dumps(plain)


def _leaf(value: Any) -> bool:
    """A value orjson writes exactly as the library does, as it is."""
    kind = type(value)
    return (
        kind is str or kind is bool or value is None or (kind is int and -(2**63) <= value < 2**64)
    )


def _plain(value: Any, types: Mapping[type, Any]) -> Any:
    """`value` with every registered transcoding's value replaced by its `{"_type_", "_data_"}`
    form; containers with nothing to replace are returned as they are (not copied)."""
    kind = type(value)
    if kind is dict or kind is list:
        copied: Any = None  # a copy of `value`, made at its first replaced item
        for key, item in value.items() if kind is dict else enumerate(value):
            if kind is dict and type(key) is not str:
                raise _UnusualError
            if _leaf(item):
                continue
            plain = _plain(item, types)
            if plain is not item:
                if copied is None:
                    copied = kind(value)
                copied[key] = plain
        return value if copied is None else copied
    if _leaf(value):
        return value
    transcoding = types.get(kind)
    if transcoding is None or isinstance(value, str | int | float | list | tuple | dict):
        raise _UnusualError  # the library writes JSON's own types natively: leave them
    return {"_type_": transcoding.name, "_data_": _plain(transcoding.encode(value), types)}
