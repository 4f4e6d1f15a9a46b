"""Progress on stderr, apart from what a command prints on stdout and from the log lines.

On a terminal, progress is one line redrawn in place; a log record first clears it, is
written on a line of its own, and the progress line is drawn again below it, so that a bar and
a log line never share a line. Off a terminal (a pipe, a file, CI), no carriage returns: a
bar prints a plain line at each quarter, a step its own line."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

CLEAR = "\r\x1b[K"  # back to the line's start, and erase it
_lock = threading.RLock()
_shown: list[Progress] = []  # the progress line on the terminal now, if any


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.text = ""

    def step(self, text: str) -> None:
        """What is being done now (replaced by the next step on a terminal)."""
        with _lock:
            if self.tty:
                self._draw(text)
            else:
                self._write(text + "\n")

    def bar(self, name: str, position: int, head: int, width: int = 30) -> None:
        """`name`: [####------] position/head."""
        done = position / head if head else 1.0
        filled = int(done * width)
        text = f"{name}: [{'#' * filled}{'-' * (width - filled)}] {position}/{head}"
        with _lock:
            if self.tty:
                self._draw(text)
            elif (quarter := f"{name}:{int(done * 4)}") != self.text:
                self.text = quarter  # off a terminal: a line at 0, 25, 50, 75 and 100 %
                self._write(text + "\n")

    def done(self) -> None:
        """The progress line is erased (a terminal): what follows starts on a clean line."""
        with _lock:
            if self.tty and self in _shown:
                self._write(CLEAR)
                _shown.remove(self)
            self.text = ""

    def _draw(self, text: str) -> None:
        self.text = text
        if self not in _shown:
            _shown.append(self)
        self._write(CLEAR + text)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class LogAboveProgress(logging.StreamHandler[TextIO]):
    """A stderr handler that writes each record above the progress line, never into it."""

    def emit(self, record: logging.LogRecord) -> None:
        with _lock:
            shown = [p for p in _shown if p.stream is self.stream]
            if shown:
                self.stream.write(CLEAR)
            super().emit(record)
            for progress in shown:
                self.stream.write(CLEAR + progress.text)
                self.stream.flush()
