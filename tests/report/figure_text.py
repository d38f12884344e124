"""Checks on the text a figure draws, from the extents of the rendered text: size, overlap, page bounds."""

from __future__ import annotations

import itertools


def drawn_texts(fig) -> list[tuple[object, object]]:
    """(text artist, its window extent) of every non-empty text the figure draws, after an Agg render.

    Tick labels outside their axis' view (made by the locator, never drawn) are left out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    hidden = set()
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    out = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        out.append((text, text.get_window_extent(renderer)))
    return out


def small_texts(fig, minimum: float, texts=None) -> list[str]:
    """Drawn texts under ``minimum`` points (``texts``: :func:`drawn_texts` of ``fig``, when already rendered)."""
    texts = drawn_texts(fig) if texts is None else texts
    return [f"{t.get_text()!r} at {t.get_fontsize():g} pt" for t, _ in texts if t.get_fontsize() < minimum]


def overlapping_texts(fig, *, slack: float = 0.5, within=None, texts=None) -> list[str]:
    """Pairs of drawn texts whose extents overlap by more than ``slack`` pixels each way (among the texts whose
    extent ``within(extent)`` accepts, when given)."""
    texts = [(t, e) for t, e in (drawn_texts(fig) if texts is None else texts) if within is None or within(e)]
    out = []
    for (a, ea), (b, eb) in itertools.combinations(texts, 2):
        dx = min(ea.x1, eb.x1) - max(ea.x0, eb.x0)
        dy = min(ea.y1, eb.y1) - max(ea.y0, eb.y0)
        if dx > slack and dy > slack:
            out.append(f"{a.get_text()!r} overlaps {b.get_text()!r}")
    return out


def texts_off_page(fig, texts=None) -> list[str]:
    width, height = fig.bbox.width, fig.bbox.height
    return [repr(t.get_text()) for t, e in (drawn_texts(fig) if texts is None else texts)
            if e.x0 < -0.5 or e.y0 < -0.5 or e.x1 > width + 0.5 or e.y1 > height + 0.5]


def text_problems(fig, minimum: float) -> tuple[list[str], list[str], list[str]]:
    """(:func:`small_texts`, :func:`overlapping_texts`, :func:`texts_off_page`) of ``fig`` from one render."""
    texts = drawn_texts(fig)
    return small_texts(fig, minimum, texts), overlapping_texts(fig, texts=texts), texts_off_page(fig, texts)
