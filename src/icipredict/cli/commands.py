"""What each ``icipredict`` command does with its parsed arguments (the parser is :mod:`icipredict.cli`).

Standard output carries the result: the table itself when there is no ``--output``, else what the
command reports (validate's summary, metrics, the update's before and after, the bundle and MLflow
run a training wrote). Standard error carries progress (lines, and bars on long work: see
:mod:`icipredict.progress`), notes, "written to" confirmations, warnings and errors; ``--quiet``
leaves only warnings and errors. Heavy libraries are imported inside the commands so that
``icipredict --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

from icipredict.progress import Progress

def _progress(args) -> Progress:
    return Progress(quiet=args.quiet, verbose=args.verbose)


def _confirm(args, message: str) -> None:
    """A "written to" confirmation: on stderr, so that stdout stays the result."""
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _table(args, numbers: bool = False):
    """The raw patient table at --input, read as every command reads it."""
    from icipredict.io import read_patients

    return read_patients(args.input, format=args.format, sheet=args.sheet, decimal=args.decimal, numbers=numbers)


def _read(args, lenient: bool = False, numbers: bool = False):
    from icipredict.table.schema import validate_patients

    return validate_patients(_table(args, numbers=numbers), lenient=lenient)


def _report_rows(report, *, quiet: bool, skip_notes: tuple[str, ...] = (), out=None) -> None:
    """The lenient report on stderr (or ``out``): notes, then every row not read or dropped, one line each."""
    out = sys.stderr if out is None else out
    if not quiet:
        for note in report.notes:
            if not note.startswith(skip_notes):
                print(f"note: {note}", file=out)
    for p in report.unread:
        print(f"not read: {p}", file=out)
    for p in report.dropped:
        print(f"dropped: {p}", file=out)


def _not_scored(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
    return f"{len(names)} row(s) not scored: {shown}"


# -- commands -------------------------------------------------------------------------------------

def cmd_synth(args) -> int:
    from icipredict.io.output import TableWriter, check_output
    from icipredict.io.synthetic import synthetic_cohort, whole_numbers_as_integers

    out = check_output(args.output) if args.output else None
    # 0/1 flags and other whole-number columns are written as integers (1, not 1.0), in every format
    df = whole_numbers_as_integers(synthetic_cohort(n=args.n, seed=args.seed, outcomes=not args.no_outcomes))
    with TableWriter(out) as writer:
        writer.write(df)
        writer.commit()
    _confirm(args, f"wrote {len(df)} synthetic patients (seed {args.seed}) to "
                   f"{out if out is not None else 'standard output'}")
    return 0


def cmd_validate(args) -> int:
    import numpy as np

    from icipredict.clinical.mutations import DRIVER_COLUMNS
    from icipredict.clinical.outcomes import benefit_label
    from icipredict.clinical.time_class import time_class, time_class_key
    from icipredict.table.schema import PREDICTORS

    # the summary, its notes and the rows it would not score are this command's result: all on stdout
    report = _read(args, args.lenient)
    df = report.frame
    counts = [f"{report.n_dropped} dropped" if report.dropped else "",
              f"{len(report.unread)} not read" if report.unread else ""]
    counts = [c for c in counts if c]
    print(f"{args.input}: {len(df)} patients" + (f" ({', '.join(counts)})" if counts else ""))
    if df["cohort"].notna().any():
        print("cohorts: " + ", ".join(f"{k} {v}" for k, v in df["cohort"].value_counts().sort_index().items()))
    labels = benefit_label(df, source=args.label_source)
    print("labels: " + ", ".join(f"{k} {int((labels == k).sum())}"
                                 for k in ("durable_benefit", "primary_resistance", "not_evaluable")))
    tc = time_class(df).str.split(" ").str[0]
    print(f"TIME class ({time_class_key()}): " + ", ".join(f"{k} {v}" for k, v in tc.value_counts().sort_index().items()))
    print("missing share per predictor:")
    shares = df[list(PREDICTORS)].isna().mean()
    for name, share in shares.items():
        bar = "#" * int(round(20 * (1 - share)))
        print(f"  {name:<24} {share:6.1%} missing  {bar}")
    _report_rows(report, quiet=False, out=sys.stdout)
    if report.not_scored:
        print(f"warning: {_not_scored(report.not_scored)}")
    drivers = (df[list(DRIVER_COLUMNS)].astype(float) == 1).any(axis=1)
    if drivers.any():
        print(f"warning: {int(np.sum(drivers))} driver-positive patient(s) (EGFR/ALK/ROS1/RET/ERBB2): "
              "usually outside the ICI monotherapy population")
    return 0


def cmd_train(args) -> int:
    from icipredict.config import load_config
    from icipredict.fitting.training import train

    overrides = list(args.set or [])
    if args.output:
        overrides.append(f"output.model_dir={Path(args.output).resolve()}")
    if args.tracking_uri:
        overrides.append(f"tracking.uri={args.tracking_uri}")
    if args.force:
        overrides.append("output.replace=true")
    config = load_config(args.config, overrides=overrides)
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.fitting.tracking import TRACKING_ORIGINS, resolve_tracking_uri

    # where the URI comes from is read before training: the run itself sets MLFLOW_TRACKING_URI in this process
    uri, origin = resolve_tracking_uri(config.tracking.uri)
    result = train(config, progress=_progress(args))

    m = result.metrics
    for scheme, title in (("iecv", "internal-external (each study held out)"), ("cv", "cross-validation"),
                          ("loco", "leave-one-cohort-out"), ("external", "external")):
        part = m.loc[(m["scheme"] == scheme) & (m["subset"] == "all")]
        if len(part):
            print(f"\n{title} (n evaluable; 95% bootstrap CI)")
            print(format_metrics_markdown(part))
    if result.bundle_path:
        print(f"\nmodel bundle written to {result.bundle_path}")
    if result.run_id:
        print(f"MLflow run: {result.run_id} in {uri} ({TRACKING_ORIGINS[origin]}; model URI runs:/{result.run_id}/model; "
              f"browse with: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_evaluate(args) -> int:
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.evaluation.saved import evaluate
    from icipredict.io.output import TableWriter, check_output

    out = check_output(args.output, [args.input], suffixes=(".csv", ".tsv")) if args.output else None
    table = evaluate(args.model, _table(args), cohort_column=args.cohort_column, label_source=args.label_source,
                     n_boot=args.n_boot, seed=args.seed, progress=_progress(args))
    print(format_metrics_markdown(table.loc[table["subset"] == "all"]))
    for subset in sorted(s for s in table["subset"].unique() if s != "all"):
        print(f"\nsame patients ({subset}):")
        print(format_metrics_markdown(table.loc[table["subset"] == subset]))
    if out is not None:
        with TableWriter(out) as writer:
            writer.write(table)
            writer.commit()
        _confirm(args, f"metrics written to {out}")
    return 0


def cmd_update(args) -> int:
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.fitting.updating import update

    say = _progress(args)
    result = update(args.model, _table(args), method=args.method, out=args.output, replace=args.force,
                    label_source=args.label_source, n_boot=args.n_boot, seed=args.seed, progress=say)
    print(f"method: {result.method} ({result.reason})")
    print("\nbefore and after on the local data (the updated model cross-validated: each fold updated on the others)")
    print(format_metrics_markdown(result.comparison.assign(cohort="local"),
                                  columns=("roc_auc", "calibration_slope", "calibration_intercept", "brier")))
    print(f"\nupdated model bundle written to {result.bundle_path}")
    if not args.no_tracking:
        from icipredict.fitting.tracking import log_update_run

        result.run_id = log_update_run(result, configured_uri=args.tracking_uri, progress=say)
        print(f"MLflow run: {result.run_id} (model URI runs:/{result.run_id}/model)")
    return 0


def cmd_predict(args) -> int:
    from icipredict.io.output import TableWriter, check_output
    from icipredict.serve.predict import load_model, predict

    # the output is checked before any work: a refused path costs nothing and loses nothing
    out = check_output(args.output, [args.input]) if args.output else None
    if args.chunk_size:
        return _predict_chunks(args, out)
    report = _read(args, args.lenient, numbers=True)  # bad input fails before the model loads
    model = load_model(args.model)
    _report_rows(report, quiet=args.quiet)
    result = predict(report, model=model, explain=args.explain)  # a report is validated already
    with TableWriter(out) as writer:
        writer.write(result)
        writer.commit()
    _summary(args, len(result), report.not_scored, out, model, result["benefit_group"].value_counts().to_dict())
    return 0


def _summary(args, n: int, not_scored: list[str], out, model, groups: dict[str, int]) -> None:
    """The closing lines on stderr: rows not scored, where the predictions went, and the benefit groups counted,
    with what each group means (:func:`icipredict.report.content.benefit_groups_text`)."""
    from icipredict.report.content import benefit_groups_text
    from icipredict.table.vocab import BENEFIT_GROUPS

    if not_scored:
        print(f"icipredict: warning: {_not_scored(not_scored)} (listed above)", file=sys.stderr)
    where = f"written to {out}" if out is not None else "written to standard output"
    _confirm(args, f"{n} predictions {where} (model {model.version})")
    counted = ", ".join(f"{groups.get(g, 0)} {g}" for g in reversed(BENEFIT_GROUPS))
    _confirm(args, f"benefit_group: {counted}. {benefit_groups_text(model.metadata)}")


def _predict_chunks(args, out) -> int:
    from icipredict.exceptions import InvalidPatientData
    from icipredict.io import iter_patient_chunks
    from icipredict.io.output import TableWriter
    from icipredict.io.size import count_rows
    from icipredict.table.schema import IdSet, UnitCheck, validate_patients
    from icipredict.serve.predict import load_model, predict

    chunks = iter_patient_chunks(args.input, args.chunk_size, format=args.format, sheet=args.sheet,
                                 decimal=args.decimal, numbers=True)
    model = load_model(args.model)
    say = _progress(args)
    total = None if args.quiet else count_rows(args.input)  # one pass over the bytes, for the time left
    units, seen = UnitCheck(), IdSet()
    not_scored: list[str] = []
    shown_notes: set[str] = set()
    groups: dict[str, int] = {}
    n = 0
    with TableWriter(out) as writer, say.bar(total, "predicting", unit="patients") as bar:
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
            _report_rows(report, quiet=args.quiet, skip_notes=("lenient mode dropped",))
            not_scored += report.not_scored
            if len(report.frame):
                result = predict(report, model=model, explain=args.explain)
                writer.write(result)
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
    from icipredict.io.output import check_output
    from icipredict.report.patient import REPORT_SUFFIXES, report_for, write_report

    # the output is checked once, against the input path too, before any work
    out = check_output(args.output, [args.input], flag="--output", suffixes=REPORT_SUFFIXES)
    path = write_report(report_for(args.model, _table(args), args.patient), out)
    _confirm(args, f"report for patient {args.patient} written to {path}")
    return 0


def cmd_serve(args) -> int:
    import logging

    from icipredict.web.app import serve  # Flask loads only for this command

    if args.quiet:  # the access log (method, path, status) is werkzeug's
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return serve(args.model, host=args.host, port=args.port)
