"""``icipredict train``, ``evaluate`` and ``update``: making a model and measuring it; each prints its
metrics (n, 95% CI) on standard output.
"""

from __future__ import annotations

from pathlib import Path

from icipredict.cli.common import confirm, progress, raw_table
from icipredict.cli.curve import check_curve_output
from icipredict.config import load_config
from icipredict.evaluation import format_metrics_markdown
from icipredict.evaluation.curves import format_curve_markdown
from icipredict.evaluation.saved import evaluate, evaluate_curve
from icipredict.exceptions import InvalidConfig, InvalidPatientData
from icipredict.fitting.tracking import TRACKING_ORIGINS, check_store, log_update_run, resolve_tracking_uri
from icipredict.fitting.training import train
from icipredict.fitting.updating import update
from icipredict.io.output import TableWriter, check_output
from icipredict.model.bundle import check_bundle_target, model_folders
from icipredict.serve.predict import load_model


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
    if result.curve_validation is not None:
        print("\nPFS curve, internal-external (every patient with PFS; references fitted on the same studies; "
              "95% bootstrap CI)")
        print("\n".join(format_curve_markdown(result.curve_validation.metrics)))
        print(result.curve_validation.metadata().proportional_hazards_summary)
    if result.bundle_path:
        print(f"\nmodel bundle written to {result.bundle_path}")
    if result.run_id:
        print(f"MLflow run: {result.run_id} in {uri} ({TRACKING_ORIGINS[origin]}; "
              f"model URI runs:/{result.run_id}/model; "
              f"browse with: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_evaluate(args) -> int:
    out = check_output(args.output, [args.input], suffixes=(".csv", ".tsv"), models=model_folders([args.model])) if args.output else None
    curve_out = check_curve_output(args, out, suffixes=(".csv", ".tsv"), models=model_folders([args.model]),
                                   why=" (the PFS curve metrics)")
    data, model = raw_table(args), load_model(args.model)
    if curve_out is not None and not model.has_curve:
        raise InvalidConfig(f"--curve-output: model {model.version} has no progression-free curve (it predicts durable "
                            "benefit at 6 months only); expected a time-to-event model. Got a 6-month model instead.")
    table = evaluate(model, data, cohort_column=args.cohort_column, label_source=args.label_source,
                     n_boot=args.n_boot, seed=args.seed, progress=progress(args))
    print(format_metrics_markdown(table.loc[table["subset"] == "all"]))
    for subset in sorted(s for s in table["subset"].unique() if s != "all"):
        print(f"\nsame patients ({subset}):")
        print(format_metrics_markdown(table.loc[table["subset"] == subset]))
    curve = evaluate_curve(model, data, cohort_column=args.cohort_column, n_boot=args.n_boot, seed=args.seed)
    if curve is not None:
        print("\nPFS curve (every patient with PFS, censored ones with their follow-up; the references are fitted on "
              "all these patients pooled, so optimistic, and the same in every cohort's rows):")
        print("\n".join(format_curve_markdown(curve, cohort_header="Cohort")))
    if out is not None:
        with TableWriter(out) as writer:
            writer.write(table)
            writer.commit()
        confirm(args, f"metrics written to {out}")
    if curve_out is not None:
        if curve is None:
            raise InvalidPatientData("--curve-output: expected patients with a PFS time, its event flag and at least "
                                     "one progression. Got none instead: no curve metrics to write.")
        with TableWriter(curve_out) as writer:
            writer.write(curve)
            writer.commit()
        confirm(args, f"PFS curve metrics written to {curve_out}")
    return 0


def cmd_update(args) -> int:
    say = progress(args)
    check_bundle_target(args.output, replace=args.force, models=[args.model])  # before the table is read
    if not args.no_tracking:
        check_store(args.tracking_uri)  # an unusable store fails now, not after the update
    result = update(args.model, raw_table(args), method=args.method, out=args.output, replace=args.force,
                    label_source=args.label_source, n_boot=args.n_boot, seed=args.seed, progress=say)
    print(f"method: {result.method} ({result.reason})")
    print("\nbefore and after on the local data (the updated model cross-validated: each fold updated on the others)")
    print(format_metrics_markdown(result.comparison.assign(cohort="local"),
                                  columns=("roc_auc", "calibration_slope", "calibration_intercept", "brier")))
    if "mean_predicted_12m" in result.comparison.columns:  # a model with a PFS curve
        print("\nS(12) against the local Kaplan-Meier S(12) (every patient with PFS, cross-validated):")
        for _, r in result.comparison.iterrows():
            print(f"  {r['model']}: mean predicted {r['mean_predicted_12m']:.3f}, Kaplan-Meier {r['km_12m']:.3f} "
                  f"({r['km_12m_low']:.3f}-{r['km_12m_high']:.3f}), n = {int(r['n_pfs'])}")
    print(f"\nupdated model bundle written to {result.bundle_path}")
    if not args.no_tracking:
        result.run_id = log_update_run(result, configured_uri=args.tracking_uri, progress=say)
        print(f"MLflow run: {result.run_id} (model URI runs:/{result.run_id}/model)")
    return 0
