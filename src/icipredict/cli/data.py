"""``icipredict synth`` (a synthetic cohort) and ``icipredict validate`` (what a patient table holds and
what would not be scored).
"""

from __future__ import annotations

import sys

import numpy as np

from icipredict.cli.common import confirm, not_scored_text, read_table, report_rows
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.outcomes import benefit_label
from icipredict.clinical.time_class import time_class, time_class_key
from icipredict.io.output import TableWriter, check_output
from icipredict.io.synthetic import synthetic_cohort, whole_numbers_as_integers
from icipredict.table.schema import PREDICTORS


def cmd_synth(args) -> int:
    out = check_output(args.output) if args.output else None
    # 0/1 flags and other whole-number columns are written as integers (1, not 1.0), in every format
    df = whole_numbers_as_integers(synthetic_cohort(n=args.n, seed=args.seed, outcomes=not args.no_outcomes))
    with TableWriter(out) as writer:
        writer.write(df)
        writer.commit()
    confirm(args, f"wrote {len(df)} synthetic patients (seed {args.seed}) to "
                   f"{out if out is not None else 'standard output'}")
    return 0


def cmd_validate(args) -> int:
    # the summary, its notes and the rows it would not score are this command's result: all on stdout
    report = read_table(args, args.lenient)
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
    counts = ", ".join(f"{k} {v}" for k, v in tc.value_counts().sort_index().items())
    print(f"TIME class ({time_class_key()}): {counts}")
    print("missing share per predictor:")
    shares = df[list(PREDICTORS)].isna().mean()
    for name, share in shares.items():
        bar = "#" * int(round(20 * (1 - share)))
        print(f"  {name:<24} {share:6.1%} missing  {bar}")
    report_rows(report, quiet=False, out=sys.stdout)
    if report.not_scored:
        print(f"warning: {not_scored_text(report.not_scored)}")
    drivers = (df[list(DRIVER_COLUMNS)].astype(float) == 1).any(axis=1)
    if drivers.any():
        print(f"warning: {int(np.sum(drivers))} driver-positive patient(s) (EGFR/ALK/ROS1/RET/ERBB2): "
              "usually outside the ICI monotherapy population")
    return 0
