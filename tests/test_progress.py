"""perfkit.progress: the bar and the progress line the commands share."""

from __future__ import annotations

from io import StringIO

from django.core.management.base import OutputWrapper

from perfkit.progress import ProgressLine, bar


def test_bar_fills_in_proportion():
    assert bar(0, 5) == "[" + "-" * 30 + "]"
    assert bar(2, 5) == "[" + "#" * 12 + "-" * 18 + "]"
    assert bar(5, 5) == "[" + "#" * 30 + "]"
    assert bar(0, 0) == "[" + "#" * 30 + "]"  # nothing to do is done
    assert bar(7, 5, width=4) == "[####]"


def test_a_terminal_redraws_the_line_until_the_end():
    out = StringIO()
    line = ProgressLine(OutputWrapper(out), tty=True)
    line.show("1/2", 1, 2)
    line.show("2/2", 2, 2)
    assert out.getvalue() == "1/2\r2/2\n"


def test_a_pipe_keeps_every_line():
    out = StringIO()
    line = ProgressLine(OutputWrapper(out))
    line.show("1/2", 1, 2)
    line.show("2/2", 2, 2)
    assert out.getvalue() == "1/2\n2/2\n"


def test_updates_within_the_interval_are_skipped_but_not_the_last():
    now = [100.0]
    out = StringIO()
    line = ProgressLine(OutputWrapper(out), interval=(0.1, 2.0), clock=lambda: now[0])
    line.show("1/4", 1, 4)
    now[0] += 1.0
    line.show("2/4", 2, 4)  # 1 s after the last one shown: a pipe waits 2 s
    now[0] += 1.5
    line.show("3/4", 3, 4)
    line.show("4/4", 4, 4)
    assert out.getvalue() == "1/4\n3/4\n4/4\n"
