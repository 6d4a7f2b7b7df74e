"""Words of free text (interaction notes, survey comments) in English or Chinese, through one tokenizer.

Chinese is written without spaces, so a word pattern such as scikit-learn's ``\\b\\w\\w+\\b`` reads a
whole clause as one "word" (``想买一个帐篷，请推荐一下`` gives two tokens) and nothing learnt from
words works. Every text analysis of the kit (the needs classifier, comment terms per satisfaction
cluster, which comments are safe to quote) therefore reads words through :class:`Tokenizer`:

* the language is decided **per text** (:func:`detect_language`), so a shop whose notes are partly
  English and partly Chinese works: a text is Chinese when at least :data:`CHINESE_MIN_CJK_SHARE` of
  its letters are Han characters;
* Chinese text is segmented with jieba (:func:`segment`), initialised once, quietly and
  deterministically (its dictionary cache in the system's temporary folder);
* other text is split with scikit-learn's default word pattern, so English results are exactly what
  scikit-learn's own analyser gives; a run of Han characters inside such a text is still segmented;
* stop words, when asked for, are scikit-learn's English list and the stopwords-iso Chinese list
  (``crm_utils/stopwords/zh.txt``, MIT licence; its source is in the file's header).

Tokens carry at least one word character: punctuation, Chinese or Western, is never a term.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

#: A text is Chinese when at least this share of its letters are Han characters. A Chinese sentence
#: naming products in Latin letters ("请问 MacBook Pro 和 iPad Air 哪个适合学生") is a third Han letters,
#: an English sentence quoting a Chinese word ("we sell 月饼 for the Mid-Autumn Festival") under a tenth:
#: a quarter sits between the two. (A text read as the wrong language still has its Han runs segmented.)
CHINESE_MIN_CJK_SHARE = 0.25

#: Han characters: CJK Unified Ideographs, Extension A, and Compatibility Ideographs.
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HAN_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: scikit-learn's default token pattern: words of two or more word characters.
SKLEARN_WORD_PATTERN = r"(?u)\b\w\w+\b"
#: Every word, single letters included (used where each word's rarity matters, not its meaning).
ANY_WORD_PATTERN = r"(?u)\b\w+\b"
_HAS_WORD_CHAR = re.compile(r"\w")

#: Where jieba keeps its prefix-dictionary cache (built from its dictionary on first use, ~1 s).
JIEBA_CACHE_DIR = Path(tempfile.gettempdir()) / "crm_utils-jieba"

_jieba_lock = threading.Lock()


def cjk_share(text: str) -> float:
    """Share of a text's letters that are Han characters (0 for a text without letters)."""
    letters = sum(ch.isalpha() for ch in text)
    return len(HAN_RE.findall(text)) / letters if letters else 0.0


def detect_language(text: str) -> str:
    """``zh`` when at least :data:`CHINESE_MIN_CJK_SHARE` of the letters are Han, else ``other``."""
    return "zh" if cjk_share(text) >= CHINESE_MIN_CJK_SHARE else "other"


def language_shares(texts: pd.Series) -> pd.Series:
    """Share of the non-empty texts in each language (``zh``, ``other``), for a notebook to say the mix."""
    t = texts.dropna().astype(str)
    t = t[t.str.strip() != ""]
    if t.empty:
        return pd.Series(dtype=float, name="share")
    return t.map(detect_language).value_counts(normalize=True).rename("share")


@lru_cache(maxsize=1)
def _jieba():
    """jieba's tokenizer, built once: its log silenced, its cache in :data:`JIEBA_CACHE_DIR`."""
    import jieba

    # jieba logs "Building prefix dict ..." at DEBUG to stderr through its own handler; a notebook
    # should not show it. Its logger is its own ("jieba"), so nothing else is silenced.
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    JIEBA_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tk.tmp_dir = str(JIEBA_CACHE_DIR)
    with _jieba_lock:
        tk.initialize()
    return tk


#: Distinct texts whose segmentation is remembered: notes and comments repeat (templates, "很好"), and
#: jieba reads ~100,000 characters a second on a busy machine; 2**16 short texts take a few MB.
SEGMENT_CACHE = 2**16


@lru_cache(maxsize=SEGMENT_CACHE)
def _segment(text: str) -> tuple[str, ...]:
    return tuple(_jieba().lcut(text, cut_all=False, HMM=True))


def segment(text: str) -> list[str]:
    """jieba's words of a Chinese text (precise mode with its HMM for unknown words: deterministic)."""
    return list(_segment(text))


@lru_cache(maxsize=1)
def chinese_stop_words() -> frozenset[str]:
    """The stopwords-iso Chinese list shipped with the package (see the file's header)."""
    text = resources.files("crm_utils").joinpath("stopwords/zh.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list) and Chinese stop words; the two scripts never collide."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | chinese_stop_words()


@dataclass(frozen=True)
class Tokenizer:
    """Words of one text, whatever its language: pass as ``tokenizer=`` to a scikit-learn vectoriser
    (with ``token_pattern=None``; its preprocessor lowercases first).

    Parameters
    ----------
    drop_stop_words : leave out English and Chinese stop words (:func:`stop_words`).
    pattern : the word pattern of non-Chinese text (scikit-learn's default: two or more characters).
    """

    drop_stop_words: bool = False
    pattern: str = SKLEARN_WORD_PATTERN

    def __call__(self, text: str) -> list[str]:
        return list(_words(text, self.drop_stop_words, self.pattern))


@lru_cache(maxsize=SEGMENT_CACHE)
def _words(text: str, drop_stop_words: bool, pattern: str) -> tuple[str, ...]:
    """The words of :class:`Tokenizer` (remembered: a vectoriser reads the same notes at every fit)."""
    if detect_language(text) == "zh":
        tokens = [t.strip() for t in segment(text)]
        tokens = [t for t in tokens if t and _HAS_WORD_CHAR.search(t)]
    else:
        tokens = []
        for word in re.findall(pattern, text):
            if HAN_RE.search(word):  # a Han run inside a non-Chinese text is still cut into words
                tokens.extend(w for w in segment(word) if _HAS_WORD_CHAR.search(w))
            else:
                tokens.append(word)
    if drop_stop_words:
        stops = stop_words()
        tokens = [t for t in tokens if t not in stops]
    return tuple(tokens)


def tokenize(texts: pd.Series, drop_stop_words: bool = False) -> list[list[str]]:
    """Lower-cased words of each text (see :class:`Tokenizer`)."""
    tk = Tokenizer(drop_stop_words)
    return [tk(str(t).lower()) for t in texts.fillna("")]
