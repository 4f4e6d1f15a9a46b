"""Rows a view has committed, kept in memory across pages while this process writes alone."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

Slot = tuple[str, tuple[object, ...]]  # (table name, key)
_UNSYNCED = object()  # the memo does not know which position its rows belong to
DEFAULT_CAPACITY = 20_000  # rows (~1-2 kB each with their strings): a live process stays small
REBUILD_CAPACITY = 200_000  # while a rebuild runs, to read nothing back over long distances
DEFAULT_FORGOTTEN = 4_000_000  # hashes of evicted keys (~60 B each) before giving up on them


class Memo:
    """A bounded write-back cache of committed rows (and of keys known to be absent).

    It is valid for a page only if the view's position is still the one its last commit
    wrote: then no other process (nor `clear`) has written the view since, so its rows are
    the table's. A table is *complete* when a key it does not hold is absent from the table:
    true after `clear`, until rows are dropped without remembering their keys. Evicted keys
    are remembered as hashes, so a miss on one of them is read from the database.
    """

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, forgotten: int = DEFAULT_FORGOTTEN
    ) -> None:
        self.capacity, self.forgotten_capacity = capacity, forgotten
        self._rows: OrderedDict[Slot, object] = OrderedDict()
        self._complete: set[str] = set()
        self._forgotten: dict[str, set[int]] = {}
        self._read: set[str] = set()  # tables a page has read with `get`
        self.position: object = _UNSYNCED

    def invalidate(self) -> None:
        """Forget everything: the view may have changed behind our back."""
        self._rows.clear()
        self._complete.clear()
        self._forgotten.clear()
        self.position = _UNSYNCED

    def emptied(self, tables: Iterable[str], position: int | None = None) -> None:
        """The view was just emptied (and its position set to `position`): every table is
        complete."""
        self.invalidate()
        self._complete.update(tables)
        self.position = position

    def begin(self, after: int | None) -> Memo:
        """The memo for a page read after `after` (checked in the page's transaction)."""
        if self.position != after:
            self.invalidate()
        return self

    def saw(self, table: str) -> None:
        """A page read one of `table`'s rows: its rows are worth keeping."""
        self._read.add(table)

    def lookup(self, slot: Slot) -> tuple[bool, object]:
        """(True, row or None) when the memo knows the row, else (False, None)."""
        self._read.add(slot[0])
        found = self._rows.get(slot, _UNSYNCED)
        if found is not _UNSYNCED:
            return True, found
        name = slot[0]
        if name in self._complete and hash(slot[1]) not in self._forgotten.get(name, ()):
            return True, None
        return False, None

    def commit(
        self, rows: dict[Slot, object], position: int, tables: Iterable[str] | None = None
    ) -> None:
        """The page's rows (read or written) are now the committed state at `position`;
        `tables` names every table they are in (found from `rows` when not given)."""
        read, kept = self._read, self._rows
        names = {slot[0] for slot in rows} if tables is None else set(tables)
        self._complete.difference_update(names - read)  # write-only so far: not worth keeping
        for slot, row in rows.items():
            if slot[0] in read:
                kept[slot] = row
                kept.move_to_end(slot)
        self.position = position
        self._evict()

    def resize(self, capacity: int) -> None:
        """Keep at most `capacity` rows from now on (evicting the oldest at once)."""
        self.capacity = capacity
        self._evict()

    def _evict(self) -> None:
        while len(self._rows) > self.capacity:
            (name, key), _ = self._rows.popitem(last=False)
            if name not in self._complete:
                continue
            forgotten = self._forgotten.setdefault(name, set())
            forgotten.add(hash(key))
            if len(forgotten) > self.forgotten_capacity:
                self._complete.discard(name)
                forgotten.clear()

    def __len__(self) -> int:
        return len(self._rows)
