"""What the benefit groups mean, in the words every screen uses: the report, the calculator, the CLI summary,
the model card and the README all show :func:`benefit_groups_text`.

The ``benefit_group`` column keeps its values (``low``, ``intermediate``, ``high``); these texts add each
group's probability range and, when the model carries them, the observed rate of durable benefit in it
with n, from the model's own validation predictions (``ModelMetadata.benefit_groups_cv``).
"""

from __future__ import annotations

from icipredict.model.metadata import ModelMetadata
from icipredict.table.labels import percent
from icipredict.table.vocab import BENEFIT_GROUP_THRESHOLDS, BENEFIT_GROUPS

__all__ = ["benefit_group_meanings", "benefit_groups_text", "scheme_text"]


def scheme_text(meta: ModelMetadata) -> str:
    """How the model's validation predictions were made, in words."""
    scheme = str(meta.uncertainty.checks.get("scheme", ""))
    if "internal-external" in scheme or (meta.config.get("evaluation", {}).get("internal_external")
                                         and len(meta.training.cohorts) > 1):
        return "each study predicted by a model that never saw it: internal-external cross-validation"
    return "predicted in cross-validation folds"


def benefit_group_meanings(meta: ModelMetadata | None) -> dict[str, str]:
    """What each ``benefit_group`` value means for this model, in words: its probability range and, when the
    model carries them, the observed rate of durable benefit in it with n (every place that shows a group in
    words reads this, through :func:`benefit_groups_text`).

    >>> import icipredict
    >>> benefit_group_meanings(icipredict.load_model("public").metadata)["high"]
    'high (probability from 40%): 60% of 181 had durable benefit'
    """
    thr = meta.benefit_thresholds if meta is not None else None
    low, high = (percent(t) for t in ((thr.low, thr.high) if thr is not None else (
        BENEFIT_GROUP_THRESHOLDS["low"], BENEFIT_GROUP_THRESHOLDS["high"])))
    ranges = {"low": f"below {low}", "intermediate": f"{low} to below {high}", "high": f"from {high}"}
    rates = {r["benefit_group"]: f": {percent(r['observed_benefit_rate'])} of {int(r['n'])} had durable benefit"
             for r in (meta.benefit_groups_cv if meta is not None else []) if r.get("n")}
    return {g: f"{g} (probability {ranges[g]}){rates.get(g, '')}" for g in BENEFIT_GROUPS}


def benefit_groups_text(meta: ModelMetadata | None) -> str:
    """The benefit groups in one paragraph: each group's meaning (:func:`benefit_group_meanings`) and where the
    observed rates come from. The report, the calculator, the CLI summary, the model card and the README say this.

    >>> import icipredict
    >>> benefit_groups_text(icipredict.load_model("public").metadata)[:60]
    'Benefit groups (likelihood of durable benefit, not a risk of'
    """
    meanings = "; ".join(benefit_group_meanings(meta).values())
    rated = meta is not None and any(r.get("n") for r in meta.benefit_groups_cv)
    source = (f" Observed in the training patients, {scheme_text(meta)}." if rated else
              " Observed rates not known for this model.")
    return f"Benefit groups (likelihood of durable benefit, not a risk of harm): {meanings}.{source}"
