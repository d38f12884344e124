"""What every figure shares: the colour-blind-safe palette, figure creation and deterministic PNG bytes.

Figures are :class:`matplotlib.figure.Figure` objects built without pyplot: no GUI backend, no
global figure registry, safe in the calculator's request threads. matplotlib is imported inside
the functions, so ``import icipredict.plots`` stays cheap.
"""

from __future__ import annotations

import io
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from icipredict.model.models import sigmoid

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["OKABE_ITO", "SERIES", "MARKERS", "MISSING_COLOUR", "new_figure", "save_figure", "figure_png",
           "figure_bytes", "probability_points_axis"]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
#: Colours of successive series (the model first), then their markers, so that no series is told by colour alone.
SERIES: tuple[str, ...] = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["purple"],
                           OKABE_ITO["vermillion"], OKABE_ITO["sky"], OKABE_ITO["black"])
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")
#: Points whose input was not given.
MISSING_COLOUR = "#8c8c8c"


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A pyplot-free figure with constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig: Figure, path: str | PathLike[str]) -> Path:
    """Write ``fig`` as PNG (120 dpi, tight bounding box), creating the parent folder; returns the path.

    >>> save_figure(plot_roc({"model": (y, p)}), "roc.png")  # doctest: +SKIP
    PosixPath('roc.png')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png(fig))
    return path


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` (120 dpi, tight bounding box): the same figure gives the same bytes.

    >>> figure_png(plot_roc({"model": (y, p)}))[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    return figure_bytes(fig)


def figure_bytes(fig: Figure, fmt: Literal["png", "pdf"] = "png", *, dpi: int = 120, tight: bool = True) -> bytes:
    """``fig`` as PNG or PDF bytes, without dates or software versions (the same figure, the same bytes).

    ``tight`` crops the page to what is drawn; without it the page keeps the figure's size.

    >>> figure_bytes(plot_roc({"model": (y, p)}), "pdf", tight=False)[:4]  # doctest: +SKIP
    b'%PDF'
    """
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"CreationDate": None, "Producer": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None, metadata=metadata)
    return buf.getvalue()


def probability_points_axis(ax, reference: float, *, which: str = "x", label: str | None = None):
    """A secondary axis turning a log-odds contribution into percentage points for a patient at ``reference``.

    A contribution ``c`` moves a patient whose probability is ``reference`` to ``sigmoid(logit(reference) + c)``;
    the axis shows that change, so the log-odds scale can be read in points around the average.
    """
    ref = float(np.clip(reference, 1e-6, 1 - 1e-6))
    base = np.log(ref / (1 - ref))

    def forward(c):
        return 100 * (sigmoid(base + np.asarray(c, dtype=float)) - ref)

    def inverse(d):
        q = np.clip(ref + np.asarray(d, dtype=float) / 100, 1e-9, 1 - 1e-9)
        return np.log(q / (1 - q)) - base

    text = label or f"change in probability for a patient at {100 * ref:.0f}% (percentage points)"
    if which == "x":
        sec = ax.secondary_xaxis("top", functions=(forward, inverse))
        sec.set_xlabel(text, fontsize="small")
    else:
        sec = ax.secondary_yaxis("right", functions=(forward, inverse))
        sec.set_ylabel(text, fontsize="small")
    sec.tick_params(labelsize="small")
    return sec
