"""The months at which a caller asks for the progression-free curve: ``--curve-times``, ``params.curve_times``.

One reader for every path that takes the times from a person (the CLI's comma list, the REST
request's JSON list, one number, or query string), so that each refuses the same things with the same words:
an empty list, a word, a negative, infinite or missing number, or more than :data:`MAX_CURVE_TIMES`
times. Times beyond the model's horizon are not refused here: the curve gives them empty values
with a warning (:func:`icipredict.predict_curve`).

>>> parse_curve_times("3, 6,12,24")
(3.0, 6.0, 12.0, 24.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from icipredict.exceptions import trim

__all__ = ["parse_curve_times", "MAX_CURVE_TIMES", "DEFAULT_CURVE_TEXT"]

#: Most times in one request: 1,000 (a curve every tenth of a month over eight years).
MAX_CURVE_TIMES = 1000
#: The times a caller gets when asking for a curve without naming times.
DEFAULT_CURVE_TEXT = "3,6,12,24"


def parse_curve_times(value: str | Sequence[object], name: str = "--curve-times") -> tuple[float, ...]:
    """Months as floats, in the order given, from a comma-separated text or a list of numbers.

    Raises
    ------
    ValueError
        The message names ``name``, says what was expected and what was got.

    Examples
    --------
    >>> parse_curve_times([6, 12.5], "params.curve_times")
    (6.0, 12.5)
    >>> parse_curve_times("3,six")
    Traceback (most recent call last):
    ...
    ValueError: --curve-times: expected months as numbers >= 0 separated by commas (e.g. 3,6,12,24). Got 'six' instead.
    """
    text = isinstance(value, str)
    what = ("months as numbers >= 0 separated by commas (e.g. 3,6,12,24)" if text
            else "a list of months as numbers >= 0 (e.g. [3, 6, 12, 24])")
    if text:
        items: list[object] = [x.strip() for x in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):  # one time, as the text "6" is
        items = [value]
    else:
        raise ValueError(f"{name}: expected {what}. Got {trim(repr(value))} instead.")
    if not items or items == [""]:
        raise ValueError(f"{name}: expected {what}. Got nothing instead.")
    if len(items) > MAX_CURVE_TIMES:
        raise ValueError(f"{name}: expected at most {MAX_CURVE_TIMES} times. Got {len(items)} instead.")
    out = []
    for item in items:
        try:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise TypeError
            months = float(item)
        except (TypeError, ValueError):
            months = math.nan
        if not math.isfinite(months) or months < 0 or (isinstance(item, str) and "_" in item):
            shown = "an empty item" if item == "" else trim(repr(item))
            raise ValueError(f"{name}: expected {what}. Got {shown} instead.")
        months += 0.0  # -0 is 0
        if months in out:
            raise ValueError(f"{name}: expected each time once (the curve has one row per patient and time). "
                             f"Got {months:g} months twice instead.")
        out.append(months)
    return tuple(out)
