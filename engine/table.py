"""A read model's table: columns derived from a frozen row dataclass, and row encoding."""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
Key = tuple[object, ...]
Record = dict[str, object]  # column name → stored value: str, int, float, bool or None
KINDS: dict[object, str] = {str: "text", int: "int", float: "real", bool: "bool"}


@dataclass(frozen=True)
class Column:
    """One column, derived from a row dataclass field (tuples are stored as JSON text)."""

    name: str
    kind: str  # text | int | real | bool | json
    nullable: bool


def _column(name: str, hint: object) -> Column:
    args = typing.get_args(hint)
    nullable = type(None) in args
    base = next(a for a in args if a is not type(None)) if nullable else hint
    if typing.get_origin(base) is tuple:
        return Column(name, "json", nullable)
    return Column(name, KINDS[base], nullable)


def _encode(column: Column, value: object) -> object:
    if value is None or column.kind != "json":
        return value
    if not value:  # most tuples are empty: json.dumps([]) without its ~5 µs
        return "[]"
    return json.dumps(list(cast("Sequence[object]", value)), ensure_ascii=False)


_CONVERTED = ("json", "bool", "real")
_TYPES: dict[str, type] = {"json": tuple, "bool": bool, "real": float}


def _decode(column: Column, value: object) -> object:
    if value is None:
        return None
    if column.kind == "json":  # JSON text as stored, or a list already parsed with its row
        return tuple(value) if isinstance(value, list) else tuple(json.loads(str(value)))
    if column.kind == "bool":
        return bool(value)
    return float(cast("float", value)) if column.kind == "real" else value


def make(row_type: type[R], values: dict[str, Any]) -> R:
    """A row of `row_type` (a frozen dataclass without defaults or `__post_init__`) whose
    fields are `values`, given in field order: what `row_type(**values)` makes, without its
    one `object.__setattr__` per field (for rows made once per event)."""
    row = object.__new__(row_type)
    object.__setattr__(row, "__dict__", values)
    return row


class Table(Generic[R]):
    """A table of one read model: its rows are instances of a frozen dataclass."""

    def __init__(
        self,
        name: str,
        row_type: type[R],
        key: Sequence[str],
        indexes: Sequence[Sequence[str]] = (),
    ) -> None:
        hints = typing.get_type_hints(row_type)
        self.name, self.row_type = name, row_type
        self.columns = tuple(_column(f.name, hints[f.name]) for f in fields(row_type))
        self.key = tuple(key)
        self.indexes = tuple(tuple(index) for index in indexes)
        self.names = tuple(c.name for c in self.columns)
        self._values = attrgetter(*self.names, "__class__")  # always a tuple
        self._key_of = attrgetter(*self.key, "__class__")
        self._json = tuple((n, c) for n, c in enumerate(self.columns) if c.kind == "json")
        # columns whose stored value may need converting back (JSON text, SQLite's 0/1, ints)
        self._typed = tuple((c.name, c) for c in self.columns if c.kind in _CONVERTED)
        # a row made without `__init__` (its one `object.__setattr__` per field) when that is
        # all `__init__` would do: no `__post_init__`
        self._plain = not hasattr(row_type, "__post_init__") and "__slots__" not in vars(row_type)

    def key_of(self, row: R) -> Key:
        return tuple(self._key_of(row)[:-1])

    def values(self, row: R) -> tuple[object, ...]:
        """The stored values of `row`, in column order (the fast path of `encode`)."""
        values = self._values(row)[:-1]
        if not self._json:
            return cast("tuple[object, ...]", values)
        encoded = list(values)
        for n, column in self._json:
            encoded[n] = _encode(column, encoded[n])
        return tuple(encoded)

    def encode(self, row: R) -> Record:
        return dict(zip(self.names, self.values(row), strict=True))

    def decode(self, record: Mapping[str, object]) -> R:
        """The row of a stored record (its columns by name; others are ignored)."""
        values = dict(record)
        if tuple(values) != self.names:  # other columns, or another order
            values = {name: record[name] for name in self.names}
        for name, column in self._typed:
            value = values[name]
            if value is not None and type(value) is not _TYPES[column.kind]:
                values[name] = _decode(column, value)
        return make(self.row_type, values) if self._plain else self.row_type(**values)

    def where_key(self, key: Key) -> dict[str, object]:
        return dict(zip(self.key, key, strict=True))
