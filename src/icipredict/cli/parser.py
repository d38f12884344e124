"""Command line: ``icipredict synth|validate|train|evaluate|update|predict|explain|serve``.

The same option means the same in every command: ``--input`` a patient table (read with
``--format``, ``--sheet``, ``--decimal``), ``--output`` where the result goes, ``--model`` a model
directory, MLflow URI or shipped name; the older spellings ``--data`` and ``--out`` are kept as
hidden aliases. Every command takes ``-q/--quiet`` and ``-v/--verbose``.

Results go to standard output; progress, notes and warnings to standard error. The commands live in
one module per group: :mod:`~icipredict.cli.data`, :mod:`~icipredict.cli.fit`,
:mod:`~icipredict.cli.predict`, :mod:`~icipredict.cli.serve`, each imported only when its command runs,
so ``icipredict --help`` stays fast. Every error this package raises on purpose is printed as one
paragraph (exit code 2 for bad input, config or a refused output path, 3 for a model that cannot be
loaded, 4 for an unreachable tracking store or a write that failed part-way, such as a full disk;
128 + the signal number for SIGTERM or SIGHUP and 130 for Ctrl-C, each leaving no half-written
output); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import shutil
import sys
import textwrap

from icipredict import __version__
from icipredict.table.vocab import (INPUT_FORMATS, LABEL_SOURCES, MAX_RESAMPLES, MAX_SEED, MAX_SYNTHETIC_PATIENTS,
                                    UPDATE_METHODS)


#: Errors of the disk rather than of the package: reported in one line, not as a traceback.
_DISK_ERRORS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _err(message: str) -> None:
    print(f"icipredict: error: {message}", file=sys.stderr)


# -- parser ---------------------------------------------------------------------------------------

_MODEL_HELP = "model directory, MLflow model URI (runs:/..., models:/name@alias) or shipped name"
_INPUT_HELP = ("patient table: canonical CSV/TSV/Parquet/.xlsx, cBioPortal study folder or its web TSV export, "
               "LORIS/Chowell table, Dijon table")
_TABLE_OUTPUT_HELP = "output .csv, .tsv or .parquet: the suffix decides the format (default: CSV on stdout)"


def _fill(text: str) -> str:
    # as wide as argparse's own help text (the terminal's width, less 2), readable when wide
    return textwrap.fill(text, max(40, min(shutil.get_terminal_size().columns - 2, 100)))


def _command(sub, name: str, summary: str, description: str, *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does, then shows examples; with -q/-v."""
    text = _fill(description) + "\n\nexamples:\n" + "\n".join(f"  {e}" for e in examples)
    p = sub.add_parser(name, help=summary, description=text, formatter_class=argparse.RawDescriptionHelpFormatter)
    talk = p.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="no progress, notes or confirmations on stderr (warnings and errors remain)")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="more progress: when stderr is not a terminal, a line at every step of a progress bar")
    return p


def _aliased(p: argparse.ArgumentParser, flag: str, old: str, *, required: bool, **kwargs) -> None:
    """``flag``, with ``old`` kept as a hidden alias (same destination; giving both is an error)."""
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument(flag, **kwargs)
    group.add_argument(old, dest=flag.lstrip("-").replace("-", "_"), help=argparse.SUPPRESS)


def _add_model(p: argparse.ArgumentParser, what: str = "the model") -> None:
    p.add_argument("--model", default="public", metavar="MODEL",
                   help=f"{what}: {_MODEL_HELP} (default: public, the shipped model)")


def _add_input(p: argparse.ArgumentParser, what: str = "", old: str | None = None) -> None:
    """--input and the options that say how to read it, the same in every command."""
    kwargs = dict(metavar="PATH", help=_INPUT_HELP + (f"; {what}" if what else ""))
    if old:
        _aliased(p, "--input", old, required=True, **kwargs)
    else:
        p.add_argument("--input", required=True, **kwargs)
    p.add_argument("--format", choices=INPUT_FORMATS, default="auto", metavar="FORMAT",
                   help="input layout, one of " + ", ".join(INPUT_FORMATS) + " (default: auto, detected)")
    p.add_argument("--sheet", default=None, metavar="NAME|INDEX",
                   help="Excel input: the sheet to read, by name or 0-based index (default: the first)")
    p.add_argument("--decimal", choices=(".", ","), default=None, metavar="MARK",
                   help="decimal mark of a text table, '.' or ',' (default: detected; ',' for a European ';' CSV)")


def _add_label_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-source", choices=LABEL_SOURCES, default="derived", metavar="SOURCE",
                   help="how outcomes become labels: derived (durable benefit = PFS >= 6 months, the default), "
                        "reported (the study's own call) or reported_then_derived (the call where given)")


def _add_labels(p: argparse.ArgumentParser, n_boot: int) -> None:
    _add_label_source(p)
    p.add_argument("--n-boot", type=int, default=n_boot, metavar="N",
                   help=f"bootstrap resamples of the 95%% confidence intervals; 0 for none (default: {n_boot})")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the bootstrap (and of any cross-validation): same seed, same numbers (default: 0)")


def build_parser() -> argparse.ArgumentParser:
    about = ("Durable benefit vs primary resistance to immune checkpoint inhibitors in advanced NSCLC (decision "
             "support for research, not a medical device).", "The same options mean the same in every command: "
             "--input (a patient table), --output (where the result goes), --model (a model directory, MLflow URI "
             "or shipped name), -q/--quiet and -v/--verbose. Results go to stdout; progress, notes and warnings "
             "to stderr. 'icipredict COMMAND --help' describes a command.")
    parser = argparse.ArgumentParser(
        prog="icipredict", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="\n\n".join(_fill(a) for a in about)
        + "\n\nexample:\n  icipredict predict --model public --input patients.csv --output predictions.csv")
    parser.add_argument("--version", action="version", version=f"icipredict {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "synth", "write the seeded synthetic cohort (the embedded default data)",
                 "Write a seeded synthetic cohort in the canonical table layout, with outcomes unless "
                 "--no-outcomes: the embedded default data of the training config. The same seed gives the same "
                 "patients.",
                 "icipredict synth --n 1000 --seed 7 --output cohort.csv",
                 "icipredict synth --n 20 --no-outcomes > patients.csv")
    p.add_argument("--n", type=int, default=1000, help="number of patients (default: 1000)")
    p.add_argument("--seed", type=int, default=7, metavar="N", help="random seed (default: 7)")
    _aliased(p, "--output", "--out", required=False, metavar="PATH", help=_TABLE_OUTPUT_HELP)
    p.add_argument("--no-outcomes", action="store_true", help="leave out the outcome columns (PFS, OS, response)")
    p.set_defaults(func="icipredict.cli.data:cmd_synth")

    p = _command(sub, "validate", "check a patient table and summarise it; changes nothing",
                 "Read a patient table as every other command would, check it against the schema, and print a "
                 "summary on stdout: patients, cohorts, labels, TIME classes, the share missing per predictor, "
                 "notes on how columns were read, and the rows that would not be scored. Nothing is written.",
                 "icipredict validate --input patients.csv",
                 "icipredict validate --input ../shared/data/cbioportal/nsclc_pd1_msk_2018 --lenient")
    _add_input(p)
    p.add_argument("--lenient", action="store_true", help="drop bad rows with a per-row report instead of failing")
    _add_label_source(p)
    p.set_defaults(func="icipredict.cli.data:cmd_validate")

    p = _command(sub, "train", "train, evaluate and track a model from a YAML config",
                 "Train a model as a YAML config says: internal-external and cross-validation with bootstrap "
                 "confidence intervals, the final model, external cohorts, plots and a model card; write the "
                 "bundle and log one MLflow run. Metrics, the bundle and the run id go to stdout; progress to "
                 "stderr.",
                 "icipredict train --config configs/default.yaml --force",
                 "icipredict train --config configs/public_cohorts.yaml --output models/mine --set seed=3")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="YAML config (default: the built-in synthetic defaults)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. model.families=[xgboost] (repeatable)")
    _aliased(p, "--output", "--out", required=False, metavar="DIR",
             help="write the model bundle here (same as --set output.model_dir=DIR); it must not exist, "
                  "unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier icipredict model bundle at the output directory (never anything else)")
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow tracking URI (same as --set tracking.uri=URI; default: the config's, else "
                        "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    p.set_defaults(func="icipredict.cli.fit:cmd_train")

    p = _command(sub, "evaluate", "metrics of a model on labelled patients, beside the baselines",
                 "Score labelled patients with a model and print, per cohort and pooled, ROC AUC, PR AUC, Brier "
                 "score and calibration with bootstrap 95% confidence intervals, beside PD-L1 alone, TMB alone "
                 "and LORIS, and on the same patients as each baseline.",
                 "icipredict evaluate --model public --input ../shared/data/loris_nsclc/chowell_test.csv",
                 "icipredict evaluate --input cohorts.csv --cohort-column site --output metrics.csv")
    _add_model(p, "the model to evaluate")
    _add_input(p, "with outcomes (pfs_months and pfs_event, or best_response)", old="--data")
    p.add_argument("--cohort-column", default="cohort", metavar="COLUMN",
                   help="column naming each patient's cohort, reported separately and pooled (default: cohort; "
                        "without it the file is one cohort)")
    _add_labels(p, n_boot=1000)
    p.add_argument("--output", metavar="PATH", help="also write the metrics table (.csv or .tsv)")
    p.add_argument("--curve-output", metavar="PATH",
                   help="also write the PFS curve metrics of a model with a curve (.csv or .tsv): Harrell's and Uno's "
                        "C, time-dependent AUC, Brier scores, mean S(6)/S(12) against Kaplan-Meier, per cohort")
    p.set_defaults(func="icipredict.cli.fit:cmd_evaluate")

    p = _command(sub, "update", "update a model on a centre's own patients and outcomes (recalibration, refit, TIL "
                                "term)",
                 "Update a model on local outcomes: recalibration in the large, logistic recalibration, refitting "
                 "with shrinkage toward the original, or extension with the TIL term, chosen by the local number "
                 "of events and closed testing (--method auto). Reports cross-validated calibration and AUC "
                 "before and after, and writes a new bundle that records its parent.",
                 "icipredict update --model public --input local_outcomes.csv --output models/local",
                 "icipredict update --input local_outcomes.csv --output models/local --method intercept "
                 "--no-tracking")
    _add_model(p, "the model to update")
    _add_input(p, "the centre's patients with outcomes", old="--data")
    _aliased(p, "--output", "--out", required=True, metavar="DIR",
             help="new directory for the updated bundle (must not exist, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an earlier icipredict bundle at --output "
                                                        "(nothing else)")
    p.add_argument("--method", choices=UPDATE_METHODS, default="auto", metavar="METHOD",
                   help="auto (the default: chosen by the local number of events and closed testing), intercept, "
                        "logistic, refit or extend")
    _add_labels(p, n_boot=500)
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    p.add_argument("--no-tracking", action="store_true", help="do not log the update to MLflow")
    p.set_defaults(func="icipredict.cli.fit:cmd_update")

    p = _command(sub, "predict", "predict durable benefit for new patients",
                 "Predict the probability of durable clinical benefit for each patient, with its 90% interval, "
                 "benefit group, TIME class, missing inputs and warnings, and optionally the strongest "
                 "contributions. One row per patient, in input order.",
                 "icipredict predict --model public --input patients.csv --output predictions.csv --explain 3",
                 "icipredict predict --input big.csv --output out.parquet --chunk-size 50000",
                 "icipredict predict --input patients.csv --output predictions.csv --curve-times 3,6,12,24 "
                 "--curve-output curve.csv")
    _add_model(p, "the model to predict with")
    _add_input(p)
    p.add_argument("--output", metavar="PATH",
                   help=_TABLE_OUTPUT_HELP + ". Never one of the inputs; an existing file is replaced only when "
                        "the whole result is written. Text cells that could start a spreadsheet formula (=, +, -, @) "
                        "get a leading ' in CSV/TSV.")
    p.add_argument("--explain", type=int, default=0, metavar="K",
                   help="add the K strongest contributions (K at most the number of input columns a patient table "
                        "may give; a model uses fewer, and ranks past them are empty)")
    p.add_argument("--chunk-size", type=int, default=0, metavar="N",
                   help="stream a canonical table in chunks of N rows, with a progress bar (same checks as the "
                        "whole file)")
    p.add_argument("--lenient", action="store_true", help="drop bad rows with a report instead of failing")
    p.add_argument("--curve-times", metavar="MONTHS",
                   help="months at which to read each patient's progression-free curve, separated by commas "
                        "(default 3,6,12,24); needs --curve-output and a time-to-event model. A time beyond the "
                        "longest the model's training follow-up supports gets empty values and a warning")
    p.add_argument("--curve-output", metavar="PATH",
                   help="write the progression-free curve, one row per patient and time: patient_id, time_months, "
                        "s (the probability of being progression-free then; at 6 months p_durable_benefit), "
                        "s_low and s_high (its 90%% interval); .csv, .tsv or .parquet. Never one of the inputs "
                        "nor --output")
    p.set_defaults(func="icipredict.cli.predict:cmd_predict")

    p = _command(sub, "explain", "one-patient report: contributions, calibration, TIME class",
                 "Write the report of one patient: the probability with its interval, the benefit group, the "
                 "strongest contributions in the inputs' own terms, the TIME class and the missing inputs.",
                 "icipredict explain --model public --input patients.csv --patient P-0001 --output report.html")
    _add_model(p, "the model to explain")
    _add_input(p)
    p.add_argument("--patient", required=True, metavar="ID", help="patient_id of the patient to explain")
    _aliased(p, "--output", "--out", required=True, metavar="PATH", help="the report: report.html, report.png or report.pdf")
    p.set_defaults(func="icipredict.cli.predict:cmd_explain")

    p = _command(sub, "serve", "local calculator page and MLflow-style /invocations endpoint (Ctrl-C to stop)",
                 "Serve the local calculator: a form for one patient and an upload for many at /, and MLflow's "
                 "JSON scoring endpoint at /invocations. Listens on this computer only unless --host says "
                 "otherwise; nothing is written to disk. --quiet hides the access log.",
                 "icipredict serve --model public --port 8000")
    _add_model(p, "the model to serve")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; others expose patient data)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.set_defaults(func="icipredict.cli.serve:cmd_serve")
    return parser


def _check_curve_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--curve-times`` as a tuple of months (or an error naming the bad item); it needs ``--curve-output``."""
    from icipredict.serve.curve_times import DEFAULT_CURVE_TEXT, parse_curve_times

    if args.curve_times is not None and not args.curve_output:
        parser.error("--curve-times: expected --curve-output PATH with it (the curve has one row per patient and "
                     "time, a table of its own). Got --curve-times alone instead.")
    if args.curve_output:
        try:
            args.curve_times = parse_curve_times(DEFAULT_CURVE_TEXT if args.curve_times is None else args.curve_times)
        except ValueError as exc:
            parser.error(str(exc))


def _run_function(name: str):
    """The function behind a command, ``"module:function"``: each command's module (and the libraries it
    needs) is imported only when that command runs, so ``icipredict --help`` stays fast."""
    module, function = name.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "explain", 0) and isinstance(args.explain, int):
        from icipredict.serve.predict import INPUT_COLUMNS_TEXT, MAX_EXPLAIN, is_explain

        if not is_explain(args.explain):
            parser.error(f"--explain: expected K from 0 to {MAX_EXPLAIN} ({INPUT_COLUMNS_TEXT}). "
                         f"Got {args.explain} instead.")
    if getattr(args, "chunk_size", 0) and args.chunk_size < 0:
        parser.error(f"--chunk-size: expected N >= 1 (or 0, the whole file at once). Got {args.chunk_size} instead.")
    if args.command == "predict":
        _check_curve_args(parser, args)
    if not 0 <= getattr(args, "n_boot", 0) <= MAX_RESAMPLES:
        parser.error(f"--n-boot: expected an integer from 0 (no confidence intervals) to {MAX_RESAMPLES}. "
                     f"Got {args.n_boot} instead.")
    if not 0 <= getattr(args, "seed", 0) <= MAX_SEED:
        parser.error(f"--seed: expected a whole number from 0 to {MAX_SEED}. Got {args.seed} instead.")
    if args.command == "synth" and not 1 <= args.n <= MAX_SYNTHETIC_PATIENTS:
        parser.error(f"--n: expected a number of patients from 1 to {MAX_SYNTHETIC_PATIENTS:,}. Got {args.n} instead.")
    if args.command == "serve" and not 0 <= args.port <= 65535:
        parser.error(f"--port: expected an integer from 0 to 65535. Got {args.port} instead.")
    # after parsing: --help, --version and argparse's own errors exit before these load
    from icipredict.exceptions import (IcipredictError, InvalidConfig, InvalidPatientData, ModelLoadError,
                                       OutputRefused, Stopped, stop_signals)

    try:
        with stop_signals():  # SIGTERM and SIGHUP end a command as Ctrl-C does: nothing half-written stays
            return int(_run_function(args.func)(args) or 0)
    except (InvalidPatientData, InvalidConfig, OutputRefused) as exc:
        _err(str(exc))
        return 2
    except ModelLoadError as exc:
        _err(str(exc))
        return 3
    except IcipredictError as exc:  # tracking store and other expected failures
        _err(str(exc))
        return 4
    except Stopped as exc:
        _err(f"stopped by {exc.name}; no output was left half-written")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk or a read-only file system met outside the package's own writers
        if exc.errno not in _DISK_ERRORS:
            raise
        where = f" {exc.filename!r}" if exc.filename else ""
        _err(f"could not write{where}: {exc.strerror or exc}; the outputs written completely before it are kept")
        return 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
