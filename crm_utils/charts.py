"""The look every chart shares: titled, labelled, with units, and alt text for screen readers.

Each stage keeps its own charts beside its logic (``crm_utils.data.plots``,
``crm_utils.customers.plots``, ...); this module holds only what they all share.
"""

from __future__ import annotations

import functools
from typing import Callable

import matplotlib.pyplot as plt
import seaborn as sns

from crm_utils.i18n import N_


#: Fonts tried, in order, for the characters the first font lacks (matplotlib >= 3.6 falls back
#: glyph by glyph along the family list): Latin text stays in DejaVu Sans, and Chinese labels and
#: Chinese names in the data are drawn with the first CJK font installed. Noto Sans CJK is what
#: Debian's fonts-noto-cjk (and the CI) installs; the others are the usual ones of macOS and Windows.
LATIN_FONT = "DejaVu Sans"
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
             "WenQuanYi Zen Hei", "SimHei", "Noto Sans CJK JP")
#: The same preference for report.html, where the reader's browser picks the first it has.
CSS_FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "PingFang SC", "Hiragino Sans GB", '
                  '"Microsoft YaHei", "WenQuanYi Zen Hei", system-ui, -apple-system, "Segoe UI", Roboto, '
                  '"Helvetica Neue", Arial, sans-serif')
#: What to do when no installed font draws a language's characters.
INSTALL_FONTS = ("install a CJK font: on Debian/Ubuntu `sudo apt-get install fonts-noto-cjk`, elsewhere Noto Sans "
                 "CJK SC from https://github.com/notofonts/noto-cjk; then delete matplotlib's font cache "
                 "(fontlist-*.json in {cache}) so it finds the new font")


def installed_fonts() -> list[str]:
    """The fallback list for this machine: DejaVu Sans, then the CJK fonts of :data:`CJK_FONTS` found."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return [LATIN_FONT, *(f for f in CJK_FONTS if f in names)]


def use_style() -> None:
    """One look for every notebook: readable fonts (with a CJK fallback, :data:`CJK_FONTS`),
    light grid, figures sized for a report; in a notebook, every chart also carries alt text
    (:func:`alt_text`) for readers of the HTML report who use a screen reader."""
    _describe_charts()  # first: loading the notebook backend sets its own defaults
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.figsize": (9, 4), "figure.dpi": 100, "axes.titleweight": "bold",
                         "font.family": installed_fonts()})  # a list of names: the fallback works per glyph


def missing_glyphs(text: set[str] | str, fonts: list[str] | None = None) -> set[str]:
    """The characters of ``text`` that none of ``fonts`` (default: :func:`installed_fonts`) can draw."""
    from matplotlib import font_manager

    faces = []
    for name in fonts or installed_fonts():
        path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
        faces.append(font_manager.get_font(path))
    return {ch for ch in set(text) if not ch.isspace() and not any(f.get_char_index(ord(ch)) for f in faces)}


def font_problem(language: str, fonts: list[str] | None = None) -> str:
    """'' when the fonts (default: :func:`installed_fonts`) draw every character of the language's
    catalogue; otherwise a sentence naming the language, a few of the characters and how to
    install a font."""
    from crm_utils import i18n

    missing = missing_glyphs(i18n.translated_characters(language), fonts)
    if not missing:
        return ""
    import matplotlib

    return (f"No installed font draws the {language} report's characters (e.g. {''.join(sorted(missing)[:8])}): "
            f"charts would show empty boxes; " + INSTALL_FONTS.format(cache=matplotlib.get_cachedir()) + ".")


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
    from crm_utils.i18n import _

    return _("Chart: {text}").format(text=text) if text else _("Chart")


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


def concise_dates(ax: plt.Axes) -> None:
    """Dates on the x axis as matplotlib's concise formatter writes them, with its month names in
    the current language: the formats are catalogue entries ('%b' -> '%m月'), since the month
    abbreviations strftime gives are English whatever the report's language."""
    import matplotlib.dates as mdates

    from crm_utils.i18n import _

    locator = mdates.AutoDateLocator()
    formatter = mdates.ConciseDateFormatter(locator)
    for name in ("formats", "zero_formats", "offset_formats"):
        setattr(formatter, name, [_(f) if f else f for f in getattr(formatter, name)])
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)


#: strftime formats of :func:`concise_dates` for the catalogue (translators write the language's own).
DATE_FORMAT_MESSAGES = (N_("%b"), N_("%b-%d"), N_("%Y-%b"), N_("%Y-%b-%d"))


def skippable(draw: Callable[..., plt.Figure]) -> Callable[..., plt.Figure | None]:
    """A chart drawn only when its inputs exist: called with None for any of them (a step the data
    could not support), it draws nothing and returns None, so a notebook cell needs no branch.
    A parameter typed as taking None (``currency: str | None``: data that declare no currency)
    is an option, not an input: None there still draws the chart."""
    import inspect

    signature = inspect.signature(draw)
    optional = {name for name, p in signature.parameters.items()
                if p.annotation is not inspect.Parameter.empty and "None" in str(p.annotation)}

    @functools.wraps(draw)
    def chart(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs).arguments
        if any(value is None and name not in optional for name, value in bound.items()):
            return None
        return draw(*args, **kwargs)
    return chart
