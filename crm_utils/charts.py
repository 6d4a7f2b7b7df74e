"""The look every chart shares: titled, labelled, with units, and alt text for screen readers.

Each stage keeps its own charts beside its logic (``crm_utils.data.plots``,
``crm_utils.customers.plots``, ...); this module holds only what they all share.
"""

from __future__ import annotations

import functools
from typing import Callable

import matplotlib.pyplot as plt
import seaborn as sns


def use_style() -> None:
    """One look for every notebook: readable fonts, light grid, figures sized for a report; in a
    notebook, every chart also carries alt text (:func:`alt_text`) for readers of the HTML report
    who use a screen reader."""
    _describe_charts()  # first: loading the notebook backend sets its own defaults
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.figsize": (9, 4), "figure.dpi": 100, "axes.titleweight": "bold"})


def alt_text(fig: plt.Figure) -> str:
    """What a chart shows, in words: its title(s) and axis labels, panel by panel."""
    panels = []
    for ax in fig.axes:
        if not ax.get_visible() or not (ax.has_data() or ax.get_title()):
            continue  # colour bars and empty panels say nothing on their own
        words = [t for t in (ax.get_title(), ax.get_title("left"), ax.get_title("right")) if t]
        axes = [f"{name}: {label}" for name, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if label]
        panels.append(" – ".join(words + ([", ".join(axes)] if axes else [])))
    title = fig.get_suptitle()
    text = "; ".join(p for p in [title, *panels] if p)
    return f"Chart: {text}" if text else "Chart"


def _describe_charts() -> None:
    """Hand each figure's alt text to the notebook with its picture (the output's metadata),
    from where the report's HTML template (crm_utils/report/templates/report) puts it on the image."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing is displayed
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    plt.switch_backend(plt.get_backend())  # load the backend now, so that its PNG printer is there to wrap
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:  # not the inline backend: no pictures in the notebook to describe
        return
    if getattr(printer, "adds_alt_text", False):
        return

    def png_with_alt(fig: Figure):
        data = printer(fig)
        return (data, {"alt": alt_text(fig)}) if data else data

    png_with_alt.adds_alt_text = True
    formatter.for_type(Figure, png_with_alt)


def skippable(draw: Callable[..., plt.Figure]) -> Callable[..., plt.Figure | None]:
    """A chart drawn only when its inputs exist: called with None for any of them (a step the data
    could not support), it draws nothing and returns None, so a notebook cell needs no branch."""
    @functools.wraps(draw)
    def chart(*args, **kwargs):
        if any(a is None for a in args):
            return None
        return draw(*args, **kwargs)
    return chart
