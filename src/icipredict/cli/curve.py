"""``icipredict predict --curve-times ... --curve-output ...``: each patient's progression-free curve as a table
of its own, one row per patient and time, written beside the predictions (chunk by chunk when they stream).

The options and the check of ``--curve-times`` live in :mod:`icipredict.cli.parser` (no heavy import there).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from icipredict.cli.common import confirm
from icipredict.exceptions import InputWarning, InvalidConfig, OutputRefused
from icipredict.io.output import OUTPUT_SUFFIXES, TableWriter, check_output
from icipredict.serve.predict import LoadedModel, predict_curve

__all__ = ["check_curve_output", "need_curve", "CurveWriter"]


def check_curve_output(args: argparse.Namespace, out: Path | None, *, suffixes: Iterable[str] = tuple(OUTPUT_SUFFIXES),
                       models: Iterable[str | Path] = (), why: str = " (the curve has one row per patient and time)"
                       ) -> Path | None:
    """``--curve-output`` (of ``predict``, or ``evaluate``'s curve metrics) checked before any work, like
    ``--output``; never the same file as ``--output`` (``why`` says what the file of its own holds)."""
    if not args.curve_output:
        return None
    curve_out = check_output(args.curve_output, [args.input], flag="--curve-output", suffixes=suffixes, models=models)
    if out is not None and curve_out.resolve() == out.resolve():
        raise OutputRefused(f"--curve-output {str(curve_out)!r} is also --output; expected a file of its own{why}. "
                            "Got the same path instead.")
    return curve_out


def need_curve(args: argparse.Namespace, model: LoadedModel) -> None:
    """A model without a curve cannot write one: say so before any prediction runs."""
    if args.curve_output and not model.has_curve:
        raise InvalidConfig(f"--curve-output: model {model.version} has no progression-free curve (it predicts "
                            "durable benefit at 6 months only); expected a time-to-event model. Got a 6-month model "
                            "instead. Leave out --curve-times/--curve-output, or use a model trained with a curve.")


class CurveWriter:
    """The curve table beside the predictions: written chunk by chunk; a no-op without a path.

    Leaving the ``with`` block normally commits the table (and says so); an exception leaves no curve
    file, as with the predictions. The curve's warnings (times beyond the model's horizon) are printed
    once each, as the CLI prints warnings.
    """

    def __init__(self, path: Path | None, times: tuple[float, ...] | None, args: argparse.Namespace):
        self.path, self.times, self.args = path, times, args
        self._writer = TableWriter(path) if path is not None else None
        self._said: set[str] = set()

    def __enter__(self) -> CurveWriter:
        if self._writer is not None:
            self._writer.__enter__()
        return self

    def __exit__(self, kind, value, tb) -> bool:
        if self._writer is None:
            return False
        try:
            if kind is None:
                self._writer.commit()
        finally:
            self._writer.__exit__(kind, value, tb)
        if kind is None:
            confirm(self.args, f"{self._writer.rows} curve rows ({len(self.times or ())} time(s) per patient) "
                               f"written to {self.path}")
        return False

    def write(self, report, model: LoadedModel) -> None:
        """The curve of a checked table (a :class:`~icipredict.table.schema.ValidationReport`)."""
        if self._writer is None or not len(report.frame):
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            curve = predict_curve(report, model=model, times=self.times)
        for w in caught:
            message = str(w.message)
            if not issubclass(w.category, InputWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif message not in self._said:
                self._said.add(message)
                print(f"icipredict: warning: {message}", file=sys.stderr)
        self._writer.write(curve)
