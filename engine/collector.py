"""The pause of the cyclic garbage collector over a batch of events."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """No cyclic garbage collection during a batch (or a whole backlog): a page allocates ~20
    tracked objects an event that live on (rows, the memo), and the collector would scan them
    again and again (~30% of a rebuild's CPU; paused per page only, its passes between pages
    still cost ~10 µs an event). Reference counting still frees everything (a 180k-event
    rebuild left 51 objects in cycles); the collector runs again at the next allocation
    after it (if it was on before)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
