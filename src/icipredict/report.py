"""One-patient report for a clinician: contributions, calibration position, TIME class.

``icipredict explain --model M --input X --patient ID --out report.html|png``. The PNG is one
figure with three panels; the HTML embeds the same figure with the prediction, its inputs, what
was missing and the warnings, as text.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.clinical.time_class import NUMBERINGS
from icipredict.exceptions import InvalidPatientData
from icipredict.io import read_patients
from icipredict.plots import plot_patient_waterfall
from icipredict.schema import check_patients
from icipredict.serving import load_model, predict

__all__ = ["patient_report", "patient_figure"]


def patient_figure(loaded, clean: pd.DataFrame, row: pd.Series, contrib: pd.Series, base: float, scale: str,
                   values: pd.Series):
    """Three panels: waterfall of contributions, risk on the cross-validated calibration curve, TIME class."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 5.2))
    grid = fig.add_gridspec(1, 3, width_ratios=[2.2, 1.3, 1.0])
    plot_patient_waterfall(contrib, values, base, scale=scale, ax=fig.add_subplot(grid[0]))
    ax = fig.add_subplot(grid[1])
    p = float(row["p_durable_benefit"])
    curve = loaded.metadata.calibration_cv
    if curve:
        c = pd.DataFrame(curve)
        ax.errorbar(c["mean_predicted"], c["observed"],
                    yerr=np.clip([c["observed"] - c["observed_low"], c["observed_high"] - c["observed"]], 0, None),
                    fmt="o-", color="#3b6ea5", ms=4, label="training patients (cross-validated)")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    thr = loaded.metadata.benefit_thresholds
    ax.axvspan(0, thr.low, color="#c44", alpha=0.08)
    ax.axvspan(thr.high, 1, color="#2a7", alpha=0.08)
    ax.axvline(p, color="black", lw=2, label=f"this patient: {p:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of durable benefit")
    ax.set_ylabel("observed rate")
    ax.set_title(f"Likelihood of durable benefit: {row['benefit_group']}")
    ax.legend(fontsize=7, loc="upper left")
    ax = fig.add_subplot(grid[2])
    label = str(row["time_class"])
    quadrants = {(1, 1): (1, 1), (0, 1): (0, 1), (1, 0): (1, 0), (0, 0): (0, 0)}
    numbering = NUMBERINGS[loaded.metadata.time_numbering]
    for (pdl1, til), (x, y) in quadrants.items():
        ax.add_patch(plt.Rectangle((x, y), 1, 1, fill=True, color="#eee", ec="white"))
        ax.text(x + 0.5, y + 0.5, f"{numbering[(pdl1, til)]}\nPD-L1{'+' if pdl1 else '-'}/TIL{'+' if til else '-'}",
                ha="center", va="center", fontsize=9)
    known = not label.startswith("unknown")
    if known:
        pdl1 = 1 if "PD-L1+" in label else 0
        til = 1 if "TIL+" in label else 0
        ax.add_patch(plt.Rectangle(quadrants[(pdl1, til)], 1, 1, fill=False, ec="black", lw=3))
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    ax.set_xticks([0.5, 1.5], ["PD-L1 -", "PD-L1 +"])
    ax.set_yticks([0.5, 1.5], ["TIL -", "TIL +"])
    ax.set_title(f"TIME class: {label}", fontsize=9)
    fig.suptitle(f"Patient {row['patient_id']}: probability of durable benefit {p:.2f} "
                 f"({loaded.version}; research use, not a medical device)", fontsize=11)
    fig.tight_layout()
    return fig


def patient_report(model, source, patient_id: str, out: str | Path, *, input_format: str = "auto") -> Path:
    """Write the one-patient report (``.png`` or ``.html``) and return its path."""
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() not in (".png", ".html", ".htm"):
        raise InvalidPatientData(f"--out: expected a .png or .html file. Got {out.name!r} instead.")
    loaded = load_model(model)
    table = source if isinstance(source, pd.DataFrame) else read_patients(source, format=input_format)
    clean = check_patients(table)
    hit = clean.index[clean["patient_id"].astype(str) == str(patient_id)]
    if len(hit) == 0:
        sample = ", ".join(clean["patient_id"].astype(str).head(5))
        raise InvalidPatientData(f"patient {patient_id!r}, column 'patient_id': expected an id present in the input. "
                                 f"Got no such patient instead (first ids: {sample}).")
    one = clean.loc[hit].reset_index(drop=True)
    row = predict(one, model=loaded).iloc[0]
    phi, base = loaded.model.contributions(one)
    scale = "log-odds"
    values = loaded.model.inputs(one).iloc[0]
    fig = patient_figure(loaded, one, row, phi.iloc[0], float(np.asarray(base)[0]), scale, values)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        fig.savefig(out, dpi=120)
        plt.close(fig)
        return out
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    given = {k: v for k, v in one.iloc[0].items() if k != "patient_id" and pd.notna(v) and v != ""}
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in given.items())
    top = phi.iloc[0].abs().sort_values(ascending=False).index[:10]
    contrib_rows = "".join(
        f"<tr><td>{html.escape(f)}</td><td>{'missing' if pd.isna(values[f]) else f'{values[f]:.3g}'}</td>"
        f"<td>{phi.iloc[0][f]:+.3f}</td></tr>" for f in top)
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>icipredict: {html.escape(str(patient_id))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td{{padding:2px 10px}}
.warn{{color:#a40}}</style></head><body>
<h1>Patient {html.escape(str(patient_id))}</h1>
<p><b>Probability of durable clinical benefit: {row['p_durable_benefit']:.2f}</b> (likelihood of durable benefit: {row['benefit_group']};
TIME class {html.escape(str(row['time_class']))}; model {html.escape(loaded.version)}).</p>
<p>Missing inputs: {html.escape(row['missing_inputs'] or 'none')}</p>
<p class="warn">Warnings: {html.escape(row['warnings'] or 'none')}</p>
<img alt="contributions, calibration and TIME class" style="width:100%" src="data:image/png;base64,{img}">
<h2>Strongest contributions ({html.escape(scale)})</h2><table><tr><th>feature</th><th>value</th><th>SHAP</th></tr>
{contrib_rows}</table>
<h2>Inputs given</h2><table>{rows}</table>
<p><small>Decision support for research, not a medical device.</small></p></body></html>"""
    out.write_text(doc, encoding="utf-8")
    return out
