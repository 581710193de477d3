"""The clean stage: PanGu's rule 1, documents too short or not Chinese enough.

PanGu-α (arXiv 2104.12369, Figure 2, cleaning rule 1): "remove a document with less than
60% Chinese characters, or fewer than 150 characters". The paper defines neither count;
zhcorpus defines them so that markup, spacing and line breaks cannot move a document
across a threshold:

- characters: every character that is not white space (``str.isspace``);
- Chinese characters: CJK unified ideographs (the basic block, extensions A to H, and the
  compatibility ideographs); Chinese punctuation, digits and kana do not count;
- Chinese share: Chinese characters over characters, 0 for a document without any.

Thresholds come from ``stages.clean`` (``min_chinese_ratio: 0.6``, ``min_chars: 150``:
PanGu's values). In ``annotate`` mode the verdicts are recorded with ``enforced=False``
and the document stays.
"""

from __future__ import annotations

import re

from corpus.config import CleanConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict

STAGE = "clean"

_CJK_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af]")
_WHITESPACE = re.compile(r"\s+")


def count_chars(text: str) -> int:
    """Characters that are not white space."""
    return len(text) - sum(len(run) for run in _WHITESPACE.findall(text))


def count_chinese(text: str) -> int:
    """CJK unified ideographs (all extensions and the compatibility block)."""
    return len(text) - len(_CJK_IDEOGRAPH.sub("", text))


def chinese_share(text: str) -> float:
    chars = count_chars(text)
    return count_chinese(text) / chars if chars else 0.0


class CleanRules:
    """Judges a document by PanGu's rule 1."""

    def __init__(self, settings: CleanConfig) -> None:
        self._settings = settings

    def judge(self, doc: Document) -> Document:
        """Every failed rule adds a verdict (so annotate mode shows all of them); the
        first one decides the document's reason in the reports."""
        settings = self._settings
        enforced = settings.mode == "enforce"
        chars = count_chars(doc.text)
        share = count_chinese(doc.text) / chars if chars else 0.0
        if chars < settings.min_chars:
            detail = f"{chars} characters < min_chars={settings.min_chars}"
            doc = doc.with_verdict(Verdict(STAGE, Reason.TOO_SHORT, float(chars), detail, enforced))
        if share < settings.min_chinese_ratio:
            detail = f"Chinese share {share:.3f} < min_chinese_ratio={settings.min_chinese_ratio}"
            doc = doc.with_verdict(Verdict(STAGE, Reason.TOO_FEW_CHINESE, round(share, 6), detail, enforced))
        return doc
