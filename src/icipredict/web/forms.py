"""The calculator's one-patient form: its fields and sections from the column definitions, the
submitted form read back as a patient, and refusals turned into per-field messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from icipredict.exceptions import TRIM, InvalidPatientData, Problem, problems_text, trim
from icipredict.table.labels import column_label
from icipredict.table.schema import COLUMNS, PREDICTORS, ColumnSpec

__all__ = ["Field", "SECTIONS", "form_sections", "patient_from_form", "error_message", "errors_by_field", "TRIM"]


#: Form sections: (id, legend, column-name prefixes); a predictor matching no prefix goes to the last.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("biomarkers", "Biomarkers", ("pdl1_", "tmb")),
    ("til", "Tumour-infiltrating lymphocytes (TIME)", ("til_", "cd8_", "immune_")),
    ("mutations", "Gene alterations: 1 altered, 0 tested wild-type, unknown if not tested", ("mut_",)),
    ("clinical", "Clinical", ()),
)



# -- the form ----------------------------------------------------------------------------------

@dataclass
class Field:
    """One input of the patient form, as the template draws it."""

    name: str
    label: str
    control: Literal["text", "number", "select"]
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    value: str = ""
    errors: list[str] = field(default_factory=list)


def _num(x: float) -> str:
    return f"{x:g}"


def _range_text(spec: ColumnSpec) -> str:
    if spec.low is not None and spec.high is not None and spec.low_inclusive and spec.high_inclusive:
        rng = f"{_num(spec.low)} to {_num(spec.high)}"
    else:
        bits = []
        if spec.low is not None:
            bits.append(("at least " if spec.low_inclusive else "above ") + _num(spec.low))
        if spec.high is not None:
            bits.append(("at most " if spec.high_inclusive else "below ") + _num(spec.high))
        rng = " and ".join(bits)
    return ", ".join(x for x in (spec.unit, "whole number" if spec.kind == "int" else "", rng) if x)


def _field(spec: ColumnSpec) -> Field:
    # the label is the input's display name (the report's, the plots', the model card's); the hint says the rest
    label = column_label(spec.name)
    label = label[0].upper() + label[1:]
    about = spec.description if spec.description.lower() != column_label(spec.name).lower() else ""
    if spec.kind == "category":
        return Field(spec.name, label, "select", hint=about,
                     options=(("", "unknown"), *((c, c) for c in spec.categories)))
    if spec.kind == "binary":
        no, yes = ("tested wild-type", "altered") if spec.name.startswith("mut_") else ("no", "yes")
        return Field(spec.name, label, "select", hint=about,
                     options=(("", "unknown"), ("0", f"0: {no}"), ("1", f"1: {yes}")))
    if spec.kind in ("float", "int"):
        return Field(spec.name, label, "number", hint="; ".join(x for x in (about, _range_text(spec)) if x))
    return Field(spec.name, label, "text", hint="; ".join(x for x in (about, "free text") if x))


def form_sections(values: Mapping[str, str] | None = None,
                  errors: Mapping[str, list[str]] | None = None) -> list[tuple[str, str, list[Field]]]:
    """The predictor fields of ``schema.COLUMNS``, grouped into the form's sections.

    Parameters
    ----------
    values : mapping, optional
        Submitted values by column name, shown again in the fields.
    errors : mapping, optional
        Error messages by column name, shown next to their field.

    Returns
    -------
    list of (section id, legend, fields)

    Examples
    --------
    >>> [s[0] for s in form_sections()]
    ['biomarkers', 'til', 'mutations', 'clinical']
    """
    values, errors = values or {}, errors or {}
    sections: dict[str, list[Field]] = {sid: [] for sid, _, _ in SECTIONS}
    for name in PREDICTORS:
        f = _field(COLUMNS[name])
        f.value, f.errors = str(values.get(name, "")), list(errors.get(name, []))
        sid = next((s for s, _, prefixes in SECTIONS if name.startswith(prefixes)), SECTIONS[-1][0])
        sections[sid].append(f)
    return [(sid, legend, sections[sid]) for sid, legend, _ in SECTIONS if sections[sid]]


def patient_from_form(form: Mapping[str, str]) -> dict[str, str]:
    """The patient dict ``predict`` gets from a submitted form: raw strings, empty fields left out.

    >>> patient_from_form({"patient_id": "", "pdl1_tps": " 60 ", "tmb": ""})
    {'patient_id': 'patient', 'pdl1_tps': '60'}
    """
    patient = {"patient_id": str(form.get("patient_id", "")).strip() or "patient"}
    for name in PREDICTORS:
        value = str(form.get(name, "")).strip()
        if value:
            patient[name] = value
    return patient


# -- messages ----------------------------------------------------------------------------------

def _problem_text(p: Problem) -> str:
    """A problem with every user-supplied part trimmed, so a huge value is never echoed whole."""
    return str(Problem(None if p.patient_id is None else trim(p.patient_id), None if p.column is None
                       else trim(p.column), trim(p.expected, 2 * TRIM), trim(p.got)))


def error_message(exc: InvalidPatientData, limit: int = 8) -> str:
    problems = exc.problems
    if not any(p.patient_id is not None or p.column is not None for p in problems):
        return trim(exc, 6 * TRIM)  # a table-level message (unreadable file, bad request) says more
    return "Invalid patient data: " + problems_text(problems, limit, _problem_text)


def errors_by_field(exc: InvalidPatientData, names: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    by_field: dict[str, list[str]] = {}
    general = []
    for p in exc.problems:
        if p.column in names:
            by_field.setdefault(p.column, []).append(_problem_text(p))
        else:
            general.append(_problem_text(p))
    if not exc.problems:
        general.append(error_message(exc))
    return by_field, general
