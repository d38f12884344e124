"""What the PFS curve costs at prediction: a curve model against today's 6-month model, in one run.

Two models are trained once, on the same synthetic centres (configs/default.yaml's generator, two
centres of 600 patients, tracking off) with the same spline grid: today's 6-month family
(``spline_logistic``) and the time-to-event family (``spline_cox``, which adds the curve columns
``p_pfs_3m`` ... ``p_secondary_resistance_24m`` and their warnings). Then ``predict`` on 10,000
synthetic patients (``synthetic_cohort(10000, seed=11, outcomes=False)``) is timed for each, the two
interleaved, median of 7 after one warm-up call each; and ``predict_curve`` on the same patients at
3, 6, 12 and 24 months. Target: the curve model's ``predict`` at most 1.5 x the 6-month model's.

    python benchmarks/bench_predict_curve.py

Writes benchmarks/results/predict_curve.json and prints a markdown table.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, machine, markdown_table, write_json  # noqa: E402

TARGET_RATIO = 1.5
SOURCES = ("data.sources=[{name: centre_a, format: synthetic, n: 600, seed: 1}, "
           "{name: centre_b, format: synthetic, n: 600, seed: 2, shift: 0.3}]")


def _train(family: str, out: Path) -> Path:
    from icipredict.fitting.training import train

    grid = "{inputs: [core, extended], knots: [3], penalty: [0.03, 0.3]}"
    train(overrides=[SOURCES, f"model.families=[{family}]", f"model.{family}={grid}", "evaluation.n_boot=0",
                     "evaluation.cv_folds=0", "tracking.enabled=false", "explain.enabled=false",
                     f"output.model_dir={out}"], quiet=True)
    return out


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    import icipredict
    from icipredict.io.synthetic import synthetic_cohort

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        today = icipredict.load_model(_train("spline_logistic", Path(tmp) / "today"))
        curve = icipredict.load_model(_train("spline_cox", Path(tmp) / "curve"))
        assert curve.has_curve and not today.has_curve
        patients = synthetic_cohort(10_000, seed=11, outcomes=False)
        icipredict.predict(patients, model=today)  # warm-up: imports, caches
        icipredict.predict(patients, model=curve)
        icipredict.predict_curve(patients, model=curve)
        t_today, t_curve = [], []
        for _ in range(7):  # interleaved, so that a load spike hits both
            t_today += _time(lambda: icipredict.predict(patients, model=today), 1)
            t_curve += _time(lambda: icipredict.predict(patients, model=curve), 1)
        t_long = _time(lambda: icipredict.predict_curve(patients, model=curve, times=[3, 6, 12, 24]), 3)
        out = icipredict.predict(patients, model=curve)
        filled = int(out["p_pfs_12m"].notna().sum())
    med_today, med_curve, med_long = statistics.median(t_today), statistics.median(t_curve), statistics.median(t_long)
    ratio = med_curve / med_today
    result = {
        "machine": machine(), "load_average_before": load_before, "load_average_after": load_average(),
        "patients": 10_000, "repeats": 7,
        "predict_6month_model_s": med_today, "predict_curve_model_s": med_curve, "ratio": ratio,
        "target_ratio": TARGET_RATIO, "ok": ratio <= TARGET_RATIO,
        "predict_curve_long_4_times_s": med_long, "curve_values_filled": filled,
        "runs_6month_s": t_today, "runs_curve_s": t_curve,
    }
    write_json("predict_curve.json", result)
    print(markdown_table(["measure", "seconds (median)"], [
        ["predict, 6-month model (spline_logistic), 10,000 patients", f"{med_today:.3f}"],
        ["predict, curve model (spline_cox) with the curve columns", f"{med_curve:.3f}"],
        ["ratio curve / 6-month (target <= 1.5)", f"{ratio:.2f}"],
        ["predict_curve, 10,000 patients x 4 times", f"{med_long:.3f}"],
    ]))


if __name__ == "__main__":
    main()
