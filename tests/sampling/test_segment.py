"""The fast segmenter gives exactly jieba's words, on real text and on the edge cases of
the HMM step it replays (sampling/segment.py)."""

from __future__ import annotations

import pickle

import jieba
import pytest

from corpus.record import Document
from sampling.segment import Segmenter


@pytest.fixture(scope="module")
def fast() -> Segmenter:
    return Segmenter("fast")


def test_identical_to_jieba_default_mode_on_real_documents(fast: Segmenter, documents: list[Document]) -> None:
    sources = {doc.source for doc in documents}
    assert sources == {"web", "encyclopedia", "ebooks", "public", "reviews", "news"}
    assert any("這" in doc.text or "個" in doc.text for doc in documents), "traditional text is part of the check"
    different = [doc.doc_id for doc in documents if fast.cut(doc.text) != jieba.lcut(doc.text, cut_all=False, HMM=True)]
    assert different == []


def test_hmm_off_method_is_jieba_without_hmm(documents: list[Document]) -> None:
    segmenter = Segmenter("jieba-nohmm")
    for doc in documents[::5]:
        assert segmenter.cut(doc.text) == jieba.lcut(doc.text, HMM=False)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\r\n\r\n\t",
        "他来到了网易杭研大厦",  # the HMM finds 杭研, which is not in the dictionary
        "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
        "iphone和ipad都是apple的产品",  # ASCII words that are, and are not, dictionary pieces
        "abc123 def C++ c# .net 3.5% 50%的人",
        "中a文b字",  # single ASCII letters between single characters: one HMM buffer
        "ＡＢＣ１２３全角字母",
        "這是一個繁體中文的句子，臺灣的電腦伺服器。",
        "emoji 😀😀 and ㈠㈡ symbols 〇一二",
        "the quick brown fox in the browser to",
        "含有\x00空字符的文本",
        "长" * 3000,
    ],
)
def test_edge_cases_match_jieba(fast: Segmenter, text: str) -> None:
    assert fast.cut(text) == jieba.lcut(text, cut_all=False, HMM=True)


def test_jieba_method_is_jieba_itself() -> None:
    text = "我们在野生动物园玩"
    assert Segmenter("jieba").cut(text) == jieba.lcut(text)


def test_joined_is_the_words_with_nul_or_none_when_it_cannot() -> None:
    segmenter = Segmenter("fast")
    assert segmenter.joined("我们在野生动物园玩") == "\x00".join(jieba.lcut("我们在野生动物园玩"))
    assert segmenter.joined("a\x00b") is None
    assert Segmenter("jieba").joined("我们") is None


def test_pickles_without_its_dictionary() -> None:
    segmenter = Segmenter("fast")
    segmenter.cut("预热")
    copy = pickle.loads(pickle.dumps(segmenter))
    assert copy.cut("他来到了网易杭研大厦") == jieba.lcut("他来到了网易杭研大厦")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown segmentation method"):
        Segmenter("pkuseg")  # type: ignore[arg-type]
