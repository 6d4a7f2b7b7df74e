"""A whole month in Chinese, as a Chinese-speaking team runs it: the Chinese shop through every
notebook with ``--language zh-CN``, then report.html and the notebooks read as that team would.

The report's functions are tested in both languages on hand-made figures (test_i18n.py) and each
module's charts and sentences on their own (test_i18n_*.py); this test catches what only a real
run shows: a sentence a stage stores in metrics.json and the report prints as stored, a table
built in a notebook, a chart whose font lacks a glyph.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from i18n_words import WORD, english_left

from crm_utils import i18n, synth
from crm_utils.data import io
from crm_utils.run import pipeline

MONTH = "2026-10"
LANGUAGE = "zh-CN"
#: As small as the English end-to-end shop (conftest's small_data), so every stage has enough to say.
CUSTOMERS = 1500
#: Columns whose values are the data's names for its things (quoted by the report as they are);
#: free text (notes, comments) and personal data are not names.
NAME_COLUMNS = ("category", "product_id", "product_name", "channel", "source", "region", "country", "segment",
                "topic", "direction", "stage", "outcome", "status")


class _Text(HTMLParser):
    """The text a reader sees: outside scripts, styles and code (file and parameter names)."""

    SKIP = {"script", "style", "code", "pre"}

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.texts = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP
        self.texts += [v for k, v in attrs if k in ("alt", "title") and v]

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP and self.depth > 0

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.texts.append(data.strip())


def page_texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.texts


def data_words(folder: Path) -> set[str]:
    """Every word the input tables use as a name: their columns and their named values."""
    words = set()
    for table in io.load_raw(folder).values():
        frame = table.frame
        words |= {w for c in frame.columns for w in WORD.findall(str(c).replace("_", " ")) + WORD.findall(str(c))}
        for column in [c for c in frame.columns if c in NAME_COLUMNS or c.startswith("q_")]:
            for value in pd.Series(frame[column].dropna().unique()).astype(str):
                words |= set(WORD.findall(value)) | set(WORD.findall(value.replace("_", " ")))
    return words


def run_words(run: Path) -> set[str]:
    """The run record's names the footer quotes: the packages' and the input folder's."""
    record = json.loads((run / "run.json").read_text())
    names = [*record["versions"], Path(record["parameters"].get("data_dir") or "").name]
    return {w for n in names for w in WORD.findall(str(n)) + WORD.findall(str(n).replace("_", " ").replace("-", " "))}


#: Method names written in Latin letters in a Chinese report too (FP-growth), and the mapping's
#: setting the cleaning sentence names (exact_duplicates: keep).
METHOD_WORDS = {"growth", "exact_duplicates", "keep"}


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory) -> tuple[Path, Path]:
    """The Chinese shop (its planted truth is the English one's) run in Chinese."""
    data = tmp_path_factory.mktemp("zh_shop")
    synth.generate(data, synth.SynthConfig(customers=CUSTOMERS, seed=7, locale="zh_CN"), workers=1)
    reports = tmp_path_factory.mktemp("zh_reports")
    pipeline.run_month(MONTH, data, reports, language=LANGUAGE, progress=False)
    i18n.set_language(i18n.SOURCE_LANGUAGE)
    return data, reports / MONTH


def test_the_report_of_a_chinese_run_is_chinese(zh_run):
    data, run = zh_run
    html = (run / "report.html").read_text(encoding="utf-8")
    assert re.search(r'<html[^>]*\blang="zh-CN"', html)
    assert json.loads((run / "run.json").read_text())["language"] == LANGUAGE
    texts = page_texts(html)
    # Every stage's sentences are there, stored in metrics.json in Chinese and printed as stored.
    for phrase in ("净收入为", "客户", "购物篮", "销售漏斗"):
        assert any(phrase in t for t in texts), phrase
    allowed = data_words(data) | run_words(run) | METHOD_WORDS
    left = english_left(texts, allowed=allowed)
    shown = sorted({t[:120] for t in texts if english_left([t], allowed=allowed)})
    assert left == set(), f"English left in the {LANGUAGE} report: {sorted(left)} in {shown[:15]}"


def test_every_notebook_of_a_chinese_run_draws_its_charts_with_every_glyph(zh_run):
    _, run = zh_run
    drawn = 0
    for path in sorted(run.glob("[0-9][0-9]_*.ipynb")):
        node = nbformat.read(path, as_version=4)
        for cell in node.cells:
            for out in cell.get("outputs", []):
                text = out.get("text", "") if out.get("output_type") == "stream" else ""
                assert "missing from font" not in text and "missing from current font" not in text, path.name
                drawn += "image/png" in out.get("data", {})
    assert drawn >= 20  # the charts of all eleven notebooks, not a run that drew none


def test_a_chinese_report_is_not_rerun_in_part_in_another_language(zh_run):
    """The stages store their sentences in metrics.json in the run's language, and the report prints
    them as stored: rerunning only some notebooks in another language would mix the two."""
    data, run = zh_run
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert re.search(r"[\u4e00-\u9fff]", json.dumps(metrics, ensure_ascii=False))
    with pytest.raises(ValueError, match="written in zh-CN.*--language en"):
        pipeline.run_month(MONTH, data, run.parent, only=["11"], language="en", progress=False)
