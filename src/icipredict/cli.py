"""Command line: ``icipredict synth|validate|train|evaluate|predict|explain|serve``.

Heavy libraries are imported inside the commands so that ``icipredict --help`` stays fast. Every
error this package raises on purpose is printed as one paragraph (exit code 2 for bad input, config
or a refused output path, 3 for a model that cannot be loaded, 4 for an unreachable tracking store); anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from icipredict.vocab import INPUT_FORMATS, LABEL_SOURCES, UPDATE_METHODS


def _err(message: str) -> None:
    print(f"icipredict: error: {message}", file=sys.stderr)


def _read(args, lenient: bool = False, numbers: bool = False):
    from icipredict.io import read_patients
    from icipredict.schema import validate_patients

    path = getattr(args, "input", None) or args.data
    raw = read_patients(path, format=args.format, sheet=args.sheet, decimal=args.decimal, numbers=numbers)
    return validate_patients(raw, lenient=lenient)


def _report_rows(report, *, quiet: bool, skip_notes: tuple[str, ...] = ()) -> None:
    """The lenient report on stderr: notes, then every row not read or dropped, one line each."""
    if not quiet:
        for note in report.notes:
            if not note.startswith(skip_notes):
                print(f"note: {note}", file=sys.stderr)
    for p in report.unread:
        print(f"not read: {p}", file=sys.stderr)
    for p in report.dropped:
        print(f"dropped: {p}", file=sys.stderr)


def _not_scored(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
    return f"{len(names)} row(s) not scored: {shown}"


# -- commands -------------------------------------------------------------------------------------

def cmd_synth(args) -> int:
    from icipredict.io import write_table
    from icipredict.io.synthetic import synthetic_cohort

    from icipredict.io.output import check_output

    check_output(args.out, flag="--out")
    df = synthetic_cohort(n=args.n, seed=args.seed, outcomes=not args.no_outcomes)
    write_table(df, args.out)
    print(f"wrote {len(df)} synthetic patients (seed {args.seed}) to {args.out}")
    return 0


def cmd_validate(args) -> int:
    import numpy as np

    from icipredict.clinical.mutations import DRIVER_COLUMNS
    from icipredict.clinical.outcomes import benefit_label
    from icipredict.clinical.time_class import time_class
    from icipredict.schema import PREDICTORS

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
    print("TIME class (seed numbering): " + ", ".join(f"{k} {v}" for k, v in tc.value_counts().sort_index().items()))
    print("missing share per predictor:")
    shares = df[list(PREDICTORS)].isna().mean()
    for name, share in shares.items():
        bar = "#" * int(round(20 * (1 - share)))
        print(f"  {name:<24} {share:6.1%} missing  {bar}")
    for note in report.notes:
        print(f"note: {note}")
    for p in report.unread:
        print(f"not read: {p}")
    for p in report.dropped:
        print(f"dropped: {p}")
    if report.not_scored:
        print(f"warning: {_not_scored(report.not_scored)}")
    drivers = (df[list(DRIVER_COLUMNS)].astype(float) == 1).any(axis=1)
    if drivers.any():
        print(f"warning: {int(np.sum(drivers))} driver-positive patient(s) (EGFR/ALK/ROS1/RET/ERBB2): "
              "usually outside the ICI monotherapy population")
    return 0


def cmd_train(args) -> int:
    from icipredict.config import load_config
    from icipredict.training import train

    overrides = list(args.set or [])
    if args.out:
        overrides.append(f"output.model_dir={Path(args.out).resolve()}")
    if args.tracking_uri:
        overrides.append(f"tracking.uri={args.tracking_uri}")
    if args.force:
        overrides.append("output.replace=true")
    config = load_config(args.config, overrides=overrides)
    result = train(config, quiet=args.quiet)
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.tracking import resolve_tracking_uri

    m = result.metrics
    for scheme, title in (("cv", "cross-validation"), ("loco", "leave-one-cohort-out"), ("external", "external")):
        part = m.loc[(m["scheme"] == scheme) & (m["subset"] == "all")]
        if len(part):
            print(f"\n{title} (n evaluable; 95% bootstrap CI)")
            print(format_metrics_markdown(part))
    if result.bundle_path:
        print(f"\nmodel bundle written to {result.bundle_path}")
    if result.run_id:
        uri, origin = resolve_tracking_uri(config.tracking.uri)
        print(f"MLflow run: {result.run_id} in {uri} (from {origin}; model URI runs:/{result.run_id}/model; "
              f"browse with: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_evaluate(args) -> int:
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.evaluation.saved import evaluate

    from icipredict.io.output import TableWriter, check_output

    out = check_output(args.output, [args.data], suffixes=(".csv", ".tsv")) if args.output else None
    table = evaluate(args.model, args.data, cohort_column=args.cohort_column, format=args.format,
                     label_source=args.label_source, n_boot=args.n_boot, seed=args.seed)
    print(format_metrics_markdown(table.loc[table["subset"] == "all"]))
    for subset in sorted(s for s in table["subset"].unique() if s != "all"):
        print(f"\nsame patients ({subset}):")
        print(format_metrics_markdown(table.loc[table["subset"] == subset]))
    if out is not None:
        with TableWriter(out) as writer:
            writer.write(table)
            writer.commit()
        print(f"\nmetrics written to {out}")
    return 0


def cmd_update(args) -> int:
    from icipredict.evaluation import format_metrics_markdown
    from icipredict.updating import update

    quiet = getattr(args, "quiet", False)

    def say(message: str) -> None:
        if not quiet:
            print(f"[icipredict] {message}", file=sys.stderr, flush=True)

    result = update(args.model, args.data, method=args.method, out=args.out, replace=args.force, format=args.format,
                    label_source=args.label_source, n_boot=args.n_boot, seed=args.seed, progress=say)
    print(f"method: {result.method} ({result.reason})")
    print("\nbefore and after on the local data (the updated model cross-validated: each fold updated on the others)")
    print(format_metrics_markdown(result.comparison.assign(cohort="local"),
                                  columns=("roc_auc", "calibration_slope", "calibration_intercept", "brier")))
    print(f"\nupdated model bundle written to {result.bundle_path}")
    if not args.no_tracking:
        from icipredict.tracking import log_update_run

        result.run_id = log_update_run(result, configured_uri=args.tracking_uri, progress=say)
        print(f"MLflow run: {result.run_id} (model URI runs:/{result.run_id}/model)")
    return 0


def cmd_predict(args) -> int:
    from icipredict.io.output import TableWriter, check_output
    from icipredict.serving import load_model, predict

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
    _summary(args, len(result), report.not_scored, out, model.version)
    return 0


def _summary(args, n: int, not_scored: list[str], out, version: str) -> None:
    if not_scored:
        print(f"icipredict: warning: {_not_scored(not_scored)} (listed above)", file=sys.stderr)
    if not args.quiet:
        where = f"written to {out}" if out is not None else "written to standard output"
        print(f"{n} predictions {where} (model {version})", file=sys.stderr)


def _predict_chunks(args, out) -> int:
    from icipredict.exceptions import InvalidPatientData
    from icipredict.io import iter_patient_chunks
    from icipredict.io.output import TableWriter
    from icipredict.schema import IdSet, UnitCheck, validate_patients
    from icipredict.serving import load_model, predict

    chunks = iter_patient_chunks(args.input, args.chunk_size, format=args.format, sheet=args.sheet,
                                 decimal=args.decimal, numbers=True)
    model = load_model(args.model)
    units, seen = UnitCheck(), IdSet()
    not_scored: list[str] = []
    shown_notes: set[str] = set()
    n = 0
    with TableWriter(out) as writer:
        for chunk in chunks:
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
            if not args.quiet:
                print(f"[icipredict] {n} patients predicted", file=sys.stderr, flush=True)
        problems = units.problems()
        if problems:
            raise InvalidPatientData.from_problems(problems)
        if n == 0:
            raise InvalidPatientData(f"{args.input}: every row has a problem, so lenient mode dropped them all; "
                                     f"expected at least one valid patient. Got {len(not_scored)} dropped row(s) "
                                     "instead.")
        writer.commit()
    _summary(args, n, not_scored, out, model.version)
    return 0


def cmd_explain(args) -> int:
    from icipredict.io.output import check_output
    from icipredict.report import patient_report

    check_output(args.out, [args.input], flag="--out", suffixes=(".html", ".png"))
    path = patient_report(args.model, args.input, args.patient, args.out, input_format=args.format)
    print(f"report for patient {args.patient} written to {path}")
    return 0


def cmd_serve(args) -> int:
    from icipredict.webapp import serve  # Flask loads only for this command

    return serve(args.model, host=args.host, port=args.port)


# -- parser ---------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icipredict",
        description="Durable benefit vs primary resistance to immune checkpoint inhibitors in advanced NSCLC "
                    "(decision support for research, not a medical device).")
    from icipredict import __version__

    parser.add_argument("--version", action="version", version=f"icipredict {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("synth", help="write the seeded synthetic cohort (the embedded default data)")
    p.add_argument("--n", type=int, default=1000, help="number of patients (default 1000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, help="output .csv or .parquet")
    p.add_argument("--no-outcomes", action="store_true", help="leave out the outcome columns")
    p.set_defaults(func=cmd_synth)

    def add_input(p, flag="--input", table_options=True):
        p.add_argument(flag, required=True, help="canonical CSV/Parquet, cBioPortal study folder or portal TSV "
                                                 "export, LORIS/Chowell table, Dijon table")
        p.add_argument("--format", choices=INPUT_FORMATS, default="auto", help="input format (default: detected)")
        if not table_options:
            return
        p.add_argument("--sheet", default=None, metavar="NAME|INDEX",
                       help="Excel input: the sheet to read, by name or 0-based index (default: the first)")
        p.add_argument("--decimal", choices=(".", ","), default=None,
                       help="decimal mark of a text table (default: detected; ',' for a European ';' CSV)")

    p = sub.add_parser("validate", help="check a patient table and summarise it; changes nothing")
    add_input(p)
    p.add_argument("--lenient", action="store_true", help="drop bad rows with a per-row report instead of failing")
    p.add_argument("--label-source", choices=LABEL_SOURCES, default="derived")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("train", help="train, evaluate and track a model from a YAML config")
    p.add_argument("--config", default=None, help="YAML config (default: built-in synthetic defaults)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--out", help="write the model bundle here (same as --set output.model_dir=...); it must not "
                                 "exist, unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier icipredict model bundle at the output directory (never anything else)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (same as --set tracking.uri=...; default: the "
                                          "config's, else MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a trained model on labelled patients, beside the baselines")
    p.add_argument("--model", required=True, help="model directory, MLflow URI or shipped name (e.g. public)")
    add_input(p, "--data", table_options=False)
    p.add_argument("--cohort-column", default="cohort")
    p.add_argument("--label-source", choices=LABEL_SOURCES, default="derived")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", help="also write the metrics table as CSV")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "update", help="update a model on a centre's own patients and outcomes (recalibration, refit, TIL term)",
        description="Update a model on local outcomes: recalibration in the large, logistic recalibration, refitting "
                    "with shrinkage toward the original, or extension with the TIL term, chosen by the local number "
                    "of events and closed testing (--method auto). Reports cross-validated calibration and AUC "
                    "before and after, and writes a new bundle that records its parent.\n\nexample:\n  icipredict "
                    "update --model public --data local_outcomes.csv --out models/local",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="public", help="the model to update (directory, MLflow URI or shipped name; "
                                                     "default public)")
    add_input(p, "--data", table_options=False)
    p.add_argument("--out", required=True, help="new directory for the updated bundle (must not exist, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an earlier icipredict bundle at --out (nothing else)")
    p.add_argument("--method", choices=UPDATE_METHODS, default="auto",
                   help="auto (default): chosen by the local number of events and closed testing")
    p.add_argument("--label-source", choices=LABEL_SOURCES, default="derived",
                   help="how outcomes are labelled: from PFS (derived), the study's own call, or the call where given")
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap resamples of the 95%% CIs (default 500)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cross-validation and bootstrap (default 0)")
    p.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    p.add_argument("--no-tracking", action="store_true", help="do not log the update to MLflow")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("predict", help="predict durable benefit for new patients")
    p.add_argument("--model", default="public", help="model directory, MLflow URI or shipped name (default public)")
    add_input(p)
    p.add_argument("--output", help="output .csv, .tsv or .parquet: the suffix decides the format (default: CSV on "
                                    "stdout). Never one of the inputs; an existing file is replaced only when the "
                                    "whole result is written. Text cells that could start a spreadsheet formula "
                                    "(=, +, -, @) get a leading ' in CSV/TSV.")
    p.add_argument("--explain", type=int, default=0, metavar="K",
                   help="add the K strongest contributions (K at most the number of input columns)")
    p.add_argument("--chunk-size", type=int, default=0,
                   help="stream a canonical table in chunks of N rows (same checks as the whole file)")
    p.add_argument("--lenient", action="store_true", help="drop bad rows with a report instead of failing")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("explain", help="one-patient report: contributions, calibration, TIME class")
    p.add_argument("--model", default="public")
    add_input(p, table_options=False)
    p.add_argument("--patient", required=True, help="patient_id to explain")
    p.add_argument("--out", required=True, help="report.html or report.png")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("serve", help="local calculator page and MLflow-style /invocations endpoint (Ctrl-C to stop)")
    p.add_argument("--model", default="public", help="model directory, MLflow URI or shipped name (default public)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; others expose patient data)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "explain", 0) and isinstance(args.explain, int):
        from icipredict.schema import PREDICTORS

        if not 0 <= args.explain <= len(PREDICTORS):
            parser.error(f"--explain: expected K from 0 to {len(PREDICTORS)} (the number of input columns). "
                         f"Got {args.explain} instead.")
    if getattr(args, "chunk_size", 0) and args.chunk_size < 0:
        parser.error("--chunk-size: expected N >= 1")
    if args.command == "serve" and not 0 <= args.port <= 65535:
        parser.error(f"--port: expected an integer from 0 to 65535. Got {args.port} instead.")
    from icipredict.exceptions import IcipredictError, InvalidConfig, InvalidPatientData, ModelLoadError, OutputRefused

    try:
        return int(args.func(args) or 0)
    except (InvalidPatientData, InvalidConfig, OutputRefused) as exc:
        _err(str(exc))
        return 2
    except ModelLoadError as exc:
        _err(str(exc))
        return 3
    except IcipredictError as exc:  # tracking store and other expected failures
        _err(str(exc))
        return 4
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
