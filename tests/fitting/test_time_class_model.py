"""The TIME class moves the prediction: the shipped model's TIL term, what training learns, and Dijon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_TRAIN, shared_path

import icipredict
from icipredict.clinical.evidence import til_prior
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.evaluation import paired_auc_difference, roc_auc
from icipredict.io import read_patients
from icipredict.io.synthetic import synthetic_cohort
from icipredict.fitting.training import train


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return synthetic_cohort(2000, seed=61, outcomes=False).drop(columns=["til_pct", "til_status"])


def test_til_positive_raises_the_probability_of_essentially_every_patient(patients):
    pos = icipredict.predict(patients.assign(til_status="positive"), model="public")
    neg = icipredict.predict(patients.assign(til_status="negative"), model="public")
    share = float((pos["p_durable_benefit"] > neg["p_durable_benefit"]).mean())
    assert share >= 0.99, share
    assert (pos["til_source"] == "til_status").all()


def test_class_means_order_ii_over_iv_and_iii_over_i(patients):
    both = pd.concat([patients.assign(til_status="positive"), patients.assign(til_status="negative")],
                     ignore_index=True).assign(patient_id=lambda d: [f"p{i}" for i in range(len(d))])
    out = icipredict.predict(both, model="public")
    mean = out.groupby(out["time_class"].str.split(" ").str[0])["p_durable_benefit"].mean()
    assert mean["II"] > mean["IV"] and mean["III"] > mean["I"], mean.to_dict()


def test_the_shipped_til_term_is_the_cited_prior():
    term = icipredict.load_model("public").metadata.til_term
    beta, se = til_prior()
    assert term.source == "prior" and term.beta == pytest.approx(beta) and term.se == pytest.approx(se)
    card = (icipredict.load_model("public").path / "model_card.md").read_text()
    for fact in ("Rakaee et al., JAMA Oncol 2023", "PMC9673028", "0.71", "0.80", "250 TIL cells/mm2",
                 "proportional hazards", f"{beta:.3f}"):
        assert fact in card, fact


@pytest.mark.parametrize("effect", [0.0, 3.0])
def test_training_learns_the_til_effect_from_til_data(effect, tmp_path):
    sources = ("data.sources=[{name: a, format: synthetic, n: 700, seed: 71, til_effect: %s}, "
               "{name: b, format: synthetic, n: 700, seed: 72, shift: 0.3, til_effect: %s}]" % (effect, effect))
    fast = [s for s in FAST_TRAIN if not s.startswith(("data.sources", "evaluation.cv_folds", "evaluation.n_boot"))]
    result = train(overrides=[*fast, sources, "evaluation.cv_folds=0", "evaluation.n_boot=0",
                              "tracking.enabled=false", "explain.enabled=false"], quiet=True)
    term = result.metadata.til_term
    assert term.source == "learned" and term.n_patients > 300
    prior = til_prior()[0]
    # the data move the estimate off the prior, in the direction of the simulated relation
    if effect == 0.0:
        assert term.beta < prior - 0.05
    else:
        assert term.beta > prior + 0.1


def test_dijon_ranks_better_with_the_cd8_measure_than_without():
    path = shared_path("dijon", "fumet2020_cd8_pdl1.csv")
    df = icipredict.check_patients(read_patients(path))
    y = binary_target(benefit_label(df))
    ok = y.notna().to_numpy()
    rows, y = df.loc[ok].reset_index(drop=True), y[ok].to_numpy(float)
    model = icipredict.load_model("public").model
    with_cd8 = model.predict_proba(rows)
    without = model.predict_proba(rows.assign(cd8_score=np.nan))
    auc_with, auc_without = roc_auc(y, with_cd8), roc_auc(y, without)
    diff, low, high = paired_auc_difference(y, with_cd8, without, n_boot=1000, seed=0)
    print(f"Dijon n={len(y)} ({int(y.sum())} durable benefit): AUC with CD8 {auc_with:.3f}, without {auc_without:.3f}, "
          f"difference {diff:+.3f} ({low:+.3f} to {high:+.3f})")
    assert auc_with >= 0.57 and auc_with > auc_without
