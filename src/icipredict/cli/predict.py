"""``icipredict predict`` (a whole table, or a large one in chunks) and ``icipredict explain`` (one
patient's report).
"""

from __future__ import annotations

import sys

from icipredict.cli.curve import CurveWriter, check_curve_output, need_curve
from icipredict.cli.common import confirm, not_scored_text, progress, raw_table, read_table, report_rows
from icipredict.exceptions import InvalidPatientData, trim
from icipredict.io import iter_patient_chunks
from icipredict.io.output import TableWriter, check_output
from icipredict.io.size import count_rows
from icipredict.model.bundle import model_folders
from icipredict.model.groups import benefit_groups_text
from icipredict.report.patient import REPORT_SUFFIXES, report_for, write_report
from icipredict.serve.predict import load_model, predict
from icipredict.table.schema import IdSet, UnitCheck, validate_patients
from icipredict.table.vocab import BENEFIT_GROUPS


def cmd_predict(args) -> int:
    # the outputs are checked before any work: a refused path costs nothing and loses nothing
    models = model_folders([args.model])
    out = check_output(args.output, [args.input], models=models) if args.output else None
    curve_out = check_curve_output(args, out, models=models)
    if args.chunk_size:
        return _predict_chunks(args, out, curve_out)
    report = read_table(args, args.lenient, numbers=True)  # bad input fails before the model loads
    model = load_model(args.model)
    need_curve(args, model)
    report_rows(report, quiet=args.quiet)
    result = predict(report, model=model, explain=args.explain)  # a report is validated already
    with TableWriter(out) as writer, CurveWriter(curve_out, args.curve_times, args) as curves:
        writer.write(result)
        curves.write(report, model)
        writer.commit()
    _summary(args, len(result), report.not_scored, out, model, result["benefit_group"].value_counts().to_dict())
    return 0


def _summary(args, n: int, not_scored: list[str], out, model, groups: dict[str, int]) -> None:
    """The closing lines on stderr: rows not scored, where the predictions went, and the benefit groups counted,
    with what each group means (:func:`icipredict.report.content.benefit_groups_text`)."""
    if not_scored:
        print(f"icipredict: warning: {not_scored_text(not_scored)} (listed above)", file=sys.stderr)
    where = f"written to {out}" if out is not None else "written to standard output"
    confirm(args, f"{n} predictions {where} (model {model.version})")
    counted = ", ".join(f"{groups.get(g, 0)} {g}" for g in reversed(BENEFIT_GROUPS))
    confirm(args, f"benefit_group: {counted}. {benefit_groups_text(model.metadata)}")


def _predict_chunks(args, out, curve_out=None) -> int:
    chunks = iter_patient_chunks(args.input, args.chunk_size, format=args.format, sheet=args.sheet,
                                 decimal=args.decimal, numbers=True)
    model = load_model(args.model)
    need_curve(args, model)
    say = progress(args)
    total = None if args.quiet else count_rows(args.input)  # one pass over the bytes, for the time left
    units, seen = UnitCheck(), IdSet()
    not_scored: list[str] = []
    shown_notes: set[str] = set()
    groups: dict[str, int] = {}
    n = 0
    with (TableWriter(out) as writer, CurveWriter(curve_out, args.curve_times, args) as curves,
          say.bar(total, "predicting", unit="patients") as bar):
        for chunk in chunks:
            rows = len(chunk)
            # the same validation as a whole file; the whole-column unit checks wait for the last chunk
            report = validate_patients(chunk, lenient=args.lenient, units=units)
            again = seen.add(report.frame["patient_id"].to_numpy(dtype=object))
            if again.any():
                first = report.frame["patient_id"].iloc[int(again.argmax())]
                if not args.lenient:
                    raise InvalidPatientData(f"patient {first!r}, column 'patient_id': expected a unique identifier. "
                                             "Got an id already seen in an earlier chunk instead.")
                report = seen.drop(report, again)
            fresh = [x for x in report.notes if x not in shown_notes]
            shown_notes.update(fresh)
            report.notes = fresh
            report_rows(report, quiet=args.quiet, skip_notes=("lenient mode dropped",))
            not_scored += report.not_scored
            if len(report.frame):
                result = predict(report, model=model, explain=args.explain)
                writer.write(result)
                curves.write(report, model)
                n += len(result)
                for g, k in result["benefit_group"].value_counts().items():
                    groups[g] = groups.get(g, 0) + int(k)
            bar.update(rows)
        problems = units.problems()
        if problems:
            raise InvalidPatientData.from_problems(problems)
        if n == 0:
            raise InvalidPatientData(f"{args.input}: every row has a problem, so lenient mode dropped them all; "
                                     f"expected at least one valid patient. Got {len(not_scored)} dropped row(s) "
                                     "instead.")
        writer.commit()
    _summary(args, n, not_scored, out, model, groups)
    return 0


def cmd_explain(args) -> int:
    # the output is checked once, against the input path too, before any work
    out = check_output(args.output, [args.input], flag="--output", suffixes=REPORT_SUFFIXES,
                       models=model_folders([args.model]))
    path = write_report(report_for(args.model, raw_table(args), args.patient), out)
    confirm(args, f"report for patient {trim(args.patient)} written to {path}")
    return 0
