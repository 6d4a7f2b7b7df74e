"""What a translated text or chart may still hold in Latin letters, and a strict check for the rest.

Shared by the translation tests: a Chinese chart, sentence or report page may keep abbreviations
and codes that Chinese analytics texts also write in Latin letters, and the names the data give
to their own things; any other English word (three letters or more) is text the kit forgot to
wrap for translation.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from crm_utils import charts  # noqa: E402

#: Abbreviations, codes and eponyms written in Latin letters in a Chinese report too: KPI, ROC-AUC,
#: NPS, ISO currency codes, UTC, SHA; CLV, MAE, MASE, RFM, BG/NBD, ESS, SMS, and the methods' names (Gamma-Gamma,
#: Kaplan-Meier, Pearson's r, Cox, BIC, HDBSCAN, Wilson, Newcombe, Prophet, jieba, HiGHS); the command
#: line's words in backticks are left out before checking.
KEPT_WORDS = {"kpi", "roc", "auc", "nps", "utc", "sha", "crm", "eur", "cny", "usd", "gbp", "prophet",
              "seasonal_naive", "clv", "mae", "mase", "rmse", "mape", "rfm", "nbd", "ess", "sms", "gamma", "kaplan",
              "meier", "pearson", "cox", "wilson", "newcombe", "jieba", "highs", "ols", "ipw",
              "pdf", "csv", "xlsx", "html", "png", "json", "parquet", "yml", "yaml", "bic", "hdbscan"}

#: A file's name (artifacts/targets.csv, mapping.yml): a name, not text to translate.
FILE_NAME = re.compile(r"[\w./-]+\.(?:csv|xlsx|parquet|ya?ml|json|html|png|ipynb|md)\b")
#: A name in code: letters, digits and at least one underscore.
IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
#: A word of English: letters (and the underscores of a name), three or more.
WORD = re.compile(r"[A-Za-z][A-Za-z_']{2,}")


def english_left(texts: Iterable[str], allowed: Iterable[str] = ()) -> set[str]:
    """Every word of three Latin letters or more in ``texts`` that is neither kept (:data:`KEPT_WORDS`)
    nor ``allowed`` (the names the test's own data give to their things); code is left out
    (:func:`without_code`)."""
    keep = KEPT_WORDS | {w.lower() for w in allowed}
    return {w for t in texts for w in WORD.findall(without_code(t)) if w.lower() not in keep}


def without_code(text: object) -> str:
    """``text`` without what is code, not prose: `quoted`, file names, and names with an underscore
    (a parameter or column the reader types as it is: assumed_uplift, tenure_months)."""
    text = FILE_NAME.sub(" ", re.sub(r"`[^`]*`", " ", str(text)))
    return IDENTIFIER.sub(" ", text)


def figure_texts(fig) -> list[str]:
    """Every visible title, axis label, legend entry and tick label of ``fig`` and its alt text, after
    drawing it fully; a glyph missing from the fonts is an error (matplotlib only warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
        fig.canvas.draw()  # lays out every text with the fonts: where a missing glyph would warn
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    texts.append(charts.alt_text(fig))
    plt.close(fig)
    return texts
