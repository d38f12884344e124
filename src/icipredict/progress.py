"""Progress on standard error: one line per step, and bars for counted work.

Library functions take ``progress: Callable[[str], None]`` and call it with one line per step;
any callable works, and the default does nothing. A :class:`Progress` is such a callable that also
draws bars: library code asks :func:`progress_bar` for one, and gets a silent bar when its
``progress`` is a plain callable, so the library never depends on where its progress goes.

On a terminal a bar is a live tqdm bar that disappears when its work is done (the step lines
stay). Elsewhere (a log file, a pipe, CI) it falls back to plain lines, at most one every
``interval`` seconds, each with the count, the total, the elapsed time and the time left; work
shorter than ``interval`` prints no bar line at all. ``quiet`` silences everything, ``verbose``
prints a plain line at every step of every bar.

>>> import io
>>> log = io.StringIO()
>>> say = Progress(stream=log, interval=0)
>>> say("loading")
>>> with progress_bar(say, 2, "scoring", unit="patients") as bar:
...     bar.update(2)
>>> print(log.getvalue().splitlines()[0])
[icipredict] loading
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import IO, Protocol, TypeVar

__all__ = ["PREFIX", "Bar", "Progress", "progress_bar", "progress_iter"]

T = TypeVar("T")

#: Every progress line starts with this, so that a log can be filtered.
PREFIX = "[icipredict]"


class Bar(Protocol):
    """Counted work: ``update(n)`` after each ``n`` units done."""

    def update(self, n: int = 1) -> None: ...


class _SilentBar:
    def update(self, n: int = 1) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class _LineBar:
    """A bar as plain lines: for a log, at most one line every ``interval`` seconds."""

    def __init__(self, write: Callable[[str], None], total: int | None, desc: str, unit: str, interval: float,
                 verbose: bool):
        self.write, self.total, self.desc, self.unit = write, total, desc, unit
        self.interval, self.verbose = interval, verbose
        self.n = 0
        self.start = self.last = time.monotonic()
        self.printed = False

    def _line(self, now: float, done: bool = False) -> str:
        unit = f" {self.unit}" if self.unit else ""
        elapsed = now - self.start
        if not self.total:
            return f"{self.desc}: {self.n:,}{unit}, {_duration(elapsed)} elapsed"
        share = min(self.n / self.total, 1.0)
        text = f"{self.desc}: {self.n:,}/{self.total:,}{unit} ({share:.0%}), {_duration(elapsed)} elapsed"
        if not done and 0 < share < 1:
            text += f", about {_duration(elapsed * (1 - share) / share)} left"
        return text

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        finished = self.total is not None and self.n >= self.total  # said by close()
        if not finished and (self.verbose or now - self.last >= self.interval):
            self.write(self._line(now))
            self.last, self.printed = now, True

    def close(self) -> None:
        if self.printed or self.verbose:  # work that showed its progress also says when it ended
            self.write(self._line(time.monotonic(), done=True) + ", done")


class Progress:
    """Progress lines (and bars) on standard error; a ``Callable[[str], None]``.

    Parameters
    ----------
    quiet : bool
        Print nothing.
    verbose : bool
        On a non-terminal, print a bar line at every step instead of every ``interval`` seconds.
    stream : file, optional
        Where to write (default: ``sys.stderr`` at the time of each call).
    interval : float
        Seconds between two plain bar lines.
    """

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None,
                 interval: float = 10.0):
        self.quiet, self.verbose, self.interval = quiet, verbose, interval
        self._stream = stream
        self._live = 0  # tqdm bars on screen: lines must go through tqdm.write to keep them intact

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    def _terminal(self) -> bool:
        """A terminal a bar can be drawn on (one that reports no width draws nothing: plain lines then)."""
        try:
            return bool(self.stream.isatty()) and os.get_terminal_size(self.stream.fileno()).columns > 0
        except (AttributeError, ValueError, OSError):  # a closed or file-like stream, or no size
            return False

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        line = f"{PREFIX} {message}"
        if self._live:
            from tqdm import tqdm

            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    @contextmanager
    def bar(self, total: int | None, desc: str, unit: str = "") -> Iterator[Bar]:
        """A bar for ``total`` units of work (None: unknown), closed when the block ends."""
        if self.quiet:
            yield _SilentBar()
            return
        if self._terminal():
            from tqdm import tqdm

            with tqdm(total=total, desc=f"{PREFIX} {desc}", unit=f" {unit}" if unit else "it", file=self.stream,
                      leave=False, dynamic_ncols=True, mininterval=0.2,
                      unit_scale=bool(total and total >= 10_000)) as live:
                self._live += 1
                try:
                    yield live
                finally:
                    self._live -= 1
            return
        plain = _LineBar(self, total, desc, unit, self.interval, self.verbose)
        try:
            yield plain
        finally:
            plain.close()


def progress_bar(progress: Callable[[str], None] | None, total: int | None, desc: str, unit: str = ""):
    """A bar from ``progress`` when it draws bars (a :class:`Progress`), else a silent one.

    Use as ``with progress_bar(progress, n, "what") as bar: ... bar.update()``.
    """
    make = getattr(progress, "bar", None)
    if callable(make):
        return make(total, desc, unit)
    return _silent()


@contextmanager
def _silent() -> Iterator[Bar]:
    yield _SilentBar()


def progress_iter(progress: Callable[[str], None] | None, items: Iterable[T], desc: str, unit: str = "",
                  total: int | None = None) -> Iterator[T]:
    """``items`` one by one, the bar of :func:`progress_bar` advancing as each is done.

    ``total`` defaults to ``len(items)`` when there is one.

    >>> [x for x in progress_iter(None, [1, 2], "counting")]
    [1, 2]
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress_bar(progress, total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update()
