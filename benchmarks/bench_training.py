"""Training time and memory benchmark of icipredict.

Trains with the real :func:`icipredict.fitting.training.train` on synthetic cohorts of 1,000, 10,000 and
100,000 patients: configs/default.yaml (XGBoost, nested tuning, sigmoid calibration, 5-fold CV,
bootstrap CIs, SHAP) with the overrides ``data.sources.0.n=N``, ``tracking.enabled=false`` and
``output.model_dir=<temporary directory>``. From ``--large`` patients on (default 100,000) the
bootstrap is cut to ``evaluation.n_boot=200`` (``--n-boot-large``; the default config has 1000).

Each size runs in a fresh subprocess, so the peak memory is per size: the parent reads the child's
``ru_maxrss`` with ``os.wait4`` and the child also reports its own ``VmHWM``. Recorded per size:
wall time of ``train()`` (inside the child) and of the whole process (interpreter start, imports,
data generation included), peak RSS in MB, and the cross-validated ROC AUC of the pooled model row
(``scheme == "cv"``, ``subset == "all"``, ``model == "model"``, ``cohort == "pooled"``, or the only cohort
row when, as here, there is a single synthetic cohort and no separate pooled row) with its CI.

    python benchmarks/bench_training.py [--sizes 1000 10000 100000] [--timeout 900]

Writes benchmarks/results/training.json (after every size) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, load_average, machine, markdown_table, peak_rss_mb_self, run_child, write_json  # noqa: E402,E501

CONFIG = ROOT / "configs" / "default.yaml"


def child(n: int, model_dir: str, n_boot: int | None, result_file: str) -> int:
    """Runs inside the subprocess: one training run, results as JSON in ``result_file``."""
    from icipredict.config import load_config
    from icipredict.fitting.training import train

    overrides = [f"data.sources.0.n={n}", "tracking.enabled=false", f"output.model_dir={model_dir}"]
    if n_boot is not None:
        overrides.append(f"evaluation.n_boot={n_boot}")
    config = load_config(CONFIG, overrides=overrides)
    t0 = time.perf_counter()
    result = train(config, quiet=True)
    train_s = time.perf_counter() - t0
    m = result.metrics
    rows = m.loc[(m["scheme"] == "cv") & (m["subset"] == "all") & (m["model"] == "model")]
    # with several cohorts the table has a "pooled" row; with one cohort its only row is the pooled figure
    row = rows.loc[rows["cohort"] == "pooled"] if (rows["cohort"] == "pooled").any() else rows
    out = {
        "n": n, "n_boot": config.evaluation.n_boot, "train_s": train_s, "vmhwm_mb": peak_rss_mb_self(),
        "n_evaluable": int(row["n"].iloc[0]) if len(row) else None,
        "auc_row_cohort": str(row["cohort"].iloc[0]) if len(row) else None,
        "cv_roc_auc": float(row["roc_auc"].iloc[0]) if len(row) else None,
        "cv_roc_auc_low": float(row["roc_auc_low"].iloc[0]) if len(row) else None,
        "cv_roc_auc_high": float(row["roc_auc_high"].iloc[0]) if len(row) else None,
        "overrides": overrides,
    }
    Path(result_file).write_text(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--large", type=int, default=100_000, help="from this size on use --n-boot-large")
    ap.add_argument("--n-boot-large", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per size before it is stopped "
                                                                 "and reported as not finished (default 900)")
    ap.add_argument("--output", default="training.json", help="file name under benchmarks/results/")
    ap.add_argument("--child", nargs=4, metavar=("N", "MODEL_DIR", "N_BOOT", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        n, model_dir, n_boot, result = args.child
        return child(int(n), model_dir, None if n_boot == "-" else int(n_boot), result)

    payload = {"machine": machine(), "config": str(CONFIG.relative_to(ROOT)), "timeout_s": args.timeout, "runs": []}
    for n in args.sizes:
        n_boot = args.n_boot_large if n >= args.large else None
        with tempfile.TemporaryDirectory(prefix=f"icibench_train_{n}_") as tmp:
            result_file = Path(tmp) / "result.json"
            log = Path(tmp) / "stderr.txt"
            before = load_average()
            print(f"[bench_training] n={n} n_boot={n_boot or 'config'} load average {before} ...",
                  file=sys.stderr, flush=True)
            with open(log, "wb") as err:
                code, wall, rss = run_child([PYTHON, str(Path(__file__).resolve()), "--child", str(n),
                                             str(Path(tmp) / "model"), str(n_boot or "-"), str(result_file)],
                                            stderr=err, cwd=tmp, timeout=args.timeout)
            run = {"n": n, "exit_code": code, "process_wall_s": wall, "peak_rss_mb": rss,
                   "load_average_before": before, "load_average_after": load_average()}
            if code == 0 and result_file.is_file():
                run |= json.loads(result_file.read_text())
                run["finished"] = True
            else:
                run["finished"] = False
                run["note"] = ("stopped after the timeout" if code is None else
                               f"exit code {code}: " + log.read_text(errors="replace")[-2000:])
        payload["runs"].append(run)
        write_json(args.output, payload)
        print(f"[bench_training] n={n}: {'done' if run['finished'] else 'NOT finished'} in {wall:.0f} s, "
              f"peak RSS {rss:.0f} MB", file=sys.stderr, flush=True)

    rows = []
    for r in payload["runs"]:
        if r["finished"]:
            auc = f"{r['cv_roc_auc']:.3f} ({r['cv_roc_auc_low']:.3f}-{r['cv_roc_auc_high']:.3f})"
            rows.append([f"{r['n']:,}", r["n_boot"], f"{r['train_s']:.1f}", f"{r['process_wall_s']:.1f}",
                         f"{r['peak_rss_mb']:.0f}", auc, r["load_average_before"][0]])
        else:
            rows.append([f"{r['n']:,}", args.n_boot_large if r["n"] >= args.large else "config",
                         f"not finished ({r['process_wall_s']:.0f} s)", "-", f"{r['peak_rss_mb']:.0f}", "-",
                         r["load_average_before"][0]])
    print(markdown_table(["patients", "n_boot", "train() wall s", "process wall s", "peak RSS MB",
                          "CV ROC AUC, pooled (95% CI)", "load avg (1 min) before"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
