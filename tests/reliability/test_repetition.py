"""Repetition of a unit of any length is caught; real text, templated documentation
included, is not (issue: reliability, row 8)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.config import CleanConfig
from corpus.record import Document
from filters import clean_text
from filters.clean import CleanPlan, CleanRules


def _definition(text: str, n: int) -> float:
    compact = "".join(text.split())
    grams = [compact[i : i + n] for i in range(len(compact) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


@pytest.fixture(scope="module")
def judge() -> CleanRules:
    return CleanRules(CleanPlan(CleanConfig()))


@pytest.mark.parametrize(
    "text",
    [
        "欢迎光临本店铺优惠多多。" * 500,  # an 11-character unit, 500 times on one line
        "欢迎光临本店铺优惠多多" * 95_000,  # a 1 MB line of one 11-character string
        "本店所有商品一律八折，欢迎新老顾客光临选购！" * 60,  # 22 characters, 60 times
        "\n".join(["优惠", "点击这里领取优惠券"] * 300),  # short lines: repeated-line removal would leave little
    ],
)
def test_a_repeated_unit_of_any_length_is_rejected(judge: CleanRules, text: str) -> None:
    doc = judge.judge(Document("spam", "web", text, (), ()))
    assert doc.removal is not None and doc.removal.reason.value in ("repetitive_ngrams", "repetitive_lines", "too_short")
    if "\n" not in text:
        assert doc.removal.reason.value == "repetitive_ngrams", doc.removal


def test_the_threshold_keeps_real_text(sample_dir: Path) -> None:
    """Every chapter of 三国演义 and every fortune (debian-reference's box-drawn tables
    score highest of the sample, 0.64) stays under the default threshold."""
    threshold, n = CleanConfig().max_repeated_ngram_share, CleanConfig().repeated_ngram_chars
    texts = []
    for name in ("sanguo.jsonl.gz", "fortunes-zh.jsonl.gz"):
        texts += [json.loads(line)["text"] for line in gzip.decompress((sample_dir / "ebooks" / name).read_bytes()).splitlines()]
    shares = np.array([clean_text.repeated_ngram_share(text, n) for text in texts if len("".join(text.split())) >= 100])
    assert len(shares) > 1000
    assert shares.max() < threshold
    assert np.quantile(shares, 0.99) < 0.6


def test_compiled_share_is_its_definition(sample_dir: Path) -> None:
    chapters = gzip.decompress((sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()).decode().splitlines()
    for line in chapters[:20]:
        text = json.loads(line)["text"]
        for n in (2, 5, 10, 13):
            assert clean_text.repeated_ngram_share(text, n) == pytest.approx(_definition(text, n), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab 优惠\n\t", max_size=60), st.integers(min_value=2, max_value=12))
def test_compiled_share_on_made_up_text(text: str, n: int) -> None:
    assert clean_text.repeated_ngram_share(text, n) == pytest.approx(_definition(text, n), abs=1e-12)
