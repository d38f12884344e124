"""The sentences of the prediction path that more than one place says: how inputs are counted, the note on
columns the package does not know, and the warning for a regimen the training studies never saw.

Every message that counts inputs says which count it means (:data:`INPUT_COLUMNS_TEXT`,
:func:`inputs_used_text`); :mod:`icipredict.serve.predict` re-exports these names.
"""

from __future__ import annotations

from icipredict.exceptions import trim
from icipredict.model.features import INPUT_SOURCES
from icipredict.table.column_names import resolve_columns
from icipredict.table.schema import COLUMNS

__all__ = ["INPUT_COLUMNS_TEXT", "inputs_used_text", "unknown_columns", "unknown_columns_note",
           "regimen_warning"]

#: Inputs are counted two ways, and every message says which: the input columns a patient table may give
#: (this count), and the inputs a given model uses (:func:`inputs_used_text`).
INPUT_COLUMNS_TEXT = "the number of input columns a patient table may give; a model uses fewer"


def inputs_used_text(given: int, used: int) -> str:
    """How many of the inputs a model uses were given, in the words every message uses.

    >>> inputs_used_text(4, 9)
    '4 of the 9 inputs this model uses given'
    """
    return f"{given} of the {used} inputs this model uses given"


def unknown_columns(columns) -> list[str]:
    """The column names, stripped, that no canonical column answers to (even by another name)."""
    cells = [str(c).strip() for c in columns]
    return [c for c, name in zip(cells, resolve_columns(cells, COLUMNS).names) if name not in COLUMNS]


def unknown_columns_note(cells: list[str]) -> str:
    """What is said once per table of the columns the package does not know: they are not used."""
    shown = ", ".join(repr(trim(c)) for c in cells[:10]) + (" ..." if len(cells) > 10 else "")
    return f"{len(cells)} column(s) not known to icipredict, not used: {shown}"


def regimen_warning(regimen: str, seen: set[str], used: list[str] | None = None) -> str:
    """The warning for a regimen the training studies never saw ("" for one they saw).

    The model has no term for such a regimen: its anti-CTLA-4 input is read as not given. Chemo-ICI
    also switches off the smoking and sex inputs the model uses (they modify the benefit of ICI alone,
    :func:`icipredict.model.features.model_input_values`): that is how the regimen moves the estimate, and
    why an explanation names it.

    >>> regimen_warning("chemo_ici", {"ici_mono"}, ["ctla4", "never_smoker"]).split("): ")[1]
    'the model has no term for it, and only switches off the smoking input (it modifies the benefit of ICI alone)'
    """
    if regimen in seen:
        return ""
    head = (f"regimen {regimen} never seen in training (seen: {', '.join(sorted(seen))}): the model has no term for "
            "it")
    switched = [w for name, w in (("never_smoker", "smoking"), ("female", "sex"))
                if regimen == "chemo_ici" and name in (INPUT_SOURCES if used is None else used)]
    if not switched:
        return head + ", and reads the regimen as not given"
    inputs = " and ".join(switched)  # no "; " inside: it separates the warnings of a row
    return (f"{head}, and only switches off the {inputs} input{'s' if len(switched) > 1 else ''} "
            f"({'they modify' if len(switched) > 1 else 'it modifies'} the benefit of ICI alone)")
