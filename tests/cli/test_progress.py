"""icipredict.progress: lines, plain bars with time left, silence, and the bridge from plain callables."""

from __future__ import annotations

import io

import pytest

from icipredict.progress import PREFIX, Progress, progress_bar, progress_iter


def _bar_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ": " in ln and "/" in ln]


def test_step_lines_carry_the_prefix():
    log = io.StringIO()
    Progress(stream=log)("loading")
    assert log.getvalue() == f"{PREFIX} loading\n"


def test_plain_bar_prints_count_total_and_time_left_at_each_interval():
    log = io.StringIO()
    with Progress(stream=log, interval=0).bar(4, "scoring", unit="patients") as bar:
        for _ in range(4):
            bar.update()
    lines = _bar_lines(log.getvalue())
    assert lines[0].startswith(f"{PREFIX} scoring: 1/4 patients (25%), ") and "left" in lines[0]
    assert lines[-1].startswith(f"{PREFIX} scoring: 4/4 patients (100%), ") and lines[-1].endswith(", done")
    assert len(lines) == 4  # 1/4, 2/4, 3/4, then done (never a 4/4 line and a done line)


def test_short_work_prints_no_bar_line():
    log = io.StringIO()
    with Progress(stream=log, interval=3600).bar(3, "scoring") as bar:
        bar.update(3)
    assert log.getvalue() == ""


def test_verbose_prints_every_step():
    log = io.StringIO()
    with Progress(stream=log, verbose=True, interval=3600).bar(3, "scoring") as bar:
        bar.update(3)
    assert log.getvalue().splitlines()[-1].startswith(f"{PREFIX} scoring: 3/3 (100%)")


def test_unknown_total_counts_without_percent():
    log = io.StringIO()
    with Progress(stream=log, interval=0).bar(None, "reading", unit="rows") as bar:
        bar.update(1500)
    assert log.getvalue().startswith(f"{PREFIX} reading: 1,500 rows, ")


def test_quiet_prints_nothing():
    log = io.StringIO()
    say = Progress(quiet=True, stream=log, interval=0)
    say("loading")
    for _ in progress_iter(say, range(3), "scoring"):
        pass
    assert log.getvalue() == ""


@pytest.mark.parametrize("progress", [None, print, lambda m: None], ids=["none", "print", "lambda"])
def test_a_plain_callable_gets_a_silent_bar(progress, capsys):
    with progress_bar(progress, 2, "scoring") as bar:
        bar.update(2)
    assert list(progress_iter(progress, [1, 2], "x")) == [1, 2]
    assert capsys.readouterr() == ("", "")


def test_a_file_like_stream_is_not_a_terminal():
    class Closed(io.StringIO):
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    log = Closed()
    with Progress(stream=log, interval=0).bar(1, "x") as bar:
        bar.update()
    assert "\r" not in log.getvalue()


def test_progress_iter_takes_the_total_from_len():
    log = io.StringIO()
    assert list(progress_iter(Progress(stream=log, interval=0), ["a", "b"], "items")) == ["a", "b"]
    assert f"{PREFIX} items: 1/2 (50%)" in log.getvalue()
