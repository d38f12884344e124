"""``icipredict train``, ``evaluate`` and ``update``: making a model and measuring it; each prints its
metrics (n, 95% CI) on standard output.
"""

from __future__ import annotations

from pathlib import Path

from icipredict.cli.common import confirm, progress, raw_table
from icipredict.config import load_config
from icipredict.evaluation import format_metrics_markdown
from icipredict.evaluation.saved import evaluate
from icipredict.fitting.tracking import TRACKING_ORIGINS, log_update_run, resolve_tracking_uri
from icipredict.fitting.training import train
from icipredict.fitting.updating import update
from icipredict.io.output import TableWriter, check_output


def cmd_train(args) -> int:
    overrides = list(args.set or [])
    if args.output:
        overrides.append(f"output.model_dir={Path(args.output).resolve()}")
    if args.tracking_uri:
        overrides.append(f"tracking.uri={args.tracking_uri}")
    if args.force:
        overrides.append("output.replace=true")
    config = load_config(args.config, overrides=overrides)
    # where the URI comes from is read before training: the run itself sets MLFLOW_TRACKING_URI in this process
    uri, origin = resolve_tracking_uri(config.tracking.uri)
    result = train(config, progress=progress(args))

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
        print(f"MLflow run: {result.run_id} in {uri} ({TRACKING_ORIGINS[origin]}; "
              f"model URI runs:/{result.run_id}/model; "
              f"browse with: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_evaluate(args) -> int:
    out = check_output(args.output, [args.input], suffixes=(".csv", ".tsv")) if args.output else None
    table = evaluate(args.model, raw_table(args), cohort_column=args.cohort_column, label_source=args.label_source,
                     n_boot=args.n_boot, seed=args.seed, progress=progress(args))
    print(format_metrics_markdown(table.loc[table["subset"] == "all"]))
    for subset in sorted(s for s in table["subset"].unique() if s != "all"):
        print(f"\nsame patients ({subset}):")
        print(format_metrics_markdown(table.loc[table["subset"] == subset]))
    if out is not None:
        with TableWriter(out) as writer:
            writer.write(table)
            writer.commit()
        confirm(args, f"metrics written to {out}")
    return 0


def cmd_update(args) -> int:
    say = progress(args)
    result = update(args.model, raw_table(args), method=args.method, out=args.output, replace=args.force,
                    label_source=args.label_source, n_boot=args.n_boot, seed=args.seed, progress=say)
    print(f"method: {result.method} ({result.reason})")
    print("\nbefore and after on the local data (the updated model cross-validated: each fold updated on the others)")
    print(format_metrics_markdown(result.comparison.assign(cohort="local"),
                                  columns=("roc_auc", "calibration_slope", "calibration_intercept", "brier")))
    print(f"\nupdated model bundle written to {result.bundle_path}")
    if not args.no_tracking:
        result.run_id = log_update_run(result, configured_uri=args.tracking_uri, progress=say)
        print(f"MLflow run: {result.run_id} (model URI runs:/{result.run_id}/model)")
    return 0
