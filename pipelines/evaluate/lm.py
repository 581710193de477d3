"""A character n-gram language model with modified Kneser-Ney smoothing, by KenLM.

KenLM's ``lmplz`` estimates the model (interpolated modified Kneser-Ney, the standard for
n-gram models) and ``build_binary`` packs it; the ``kenlm`` Python module scores text.
``lmplz`` and ``build_binary`` are built from the source in the ``kenlm`` package on PyPI
with Debian's boost (``make kenlm`` puts them next to the virtualenv's Python).

Tokens are characters: Chinese needs no segmentation that way, and two runs' models share
one kind of vocabulary whatever their text. Each non-empty line of a document is one
sentence; white space inside a line becomes ``▁``; control characters are dropped. The
perplexity counts every character and each line's end (``</s>``); characters the model
never saw score as ``<unk>`` and are counted apart (``oov``), since a model trained on
less varied text meets more of them.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

SPACE = "\u2581"
"""What a white-space character inside a line becomes (KenLM splits tokens at spaces)."""
ORDER = 5
"""Characters of context plus one: 5-grams of characters, a few Chinese words."""
TOOLS = ("lmplz", "build_binary")


class LanguageModelError(Exception):
    """KenLM is not built here, or it failed on the text."""


def char_sentences(text: str) -> Iterator[str]:
    """``text`` as KenLM sentences: one per non-empty line, characters separated by spaces."""
    for line in text.splitlines():
        tokens = []
        for char in line:
            if char.isspace():
                tokens.append(SPACE)
            elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
                tokens.append(char)
        while tokens and tokens[-1] == SPACE:
            tokens.pop()
        while tokens and tokens[0] == SPACE:
            tokens.pop(0)
        if tokens:
            yield " ".join(tokens)


def find_tool(name: str, directory: str | None = None) -> str:
    """``lmplz`` or ``build_binary``: in ``directory`` (``--kenlm-bin``), else in
    $ZHCORPUS_KENLM_BIN, else next to this Python (the virtualenv), else on the PATH."""
    for folder in (directory, os.environ.get("ZHCORPUS_KENLM_BIN"), os.path.dirname(sys.executable)):
        if folder and os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    found = shutil.which(name)
    if found is None:
        raise LanguageModelError(
            f"KenLM's {name} was not found (next to {sys.executable}, on the PATH or in $ZHCORPUS_KENLM_BIN): "
            "`make kenlm` builds it (needs cmake and Debian's libboost-program-options-dev, libboost-system-dev, "
            "libboost-thread-dev and libboost-test-dev)"
        )
    return found


@dataclass(frozen=True)
class Score:
    tokens: int
    """Characters and line ends scored."""
    log10_prob: float
    oov: int
    """Tokens the model did not know (scored as <unk>)."""
    oov_log10_prob: float

    @property
    def perplexity(self) -> float:
        return 10 ** (-self.log10_prob / self.tokens) if self.tokens else math.nan

    @property
    def perplexity_known(self) -> float:
        """Perplexity over the tokens the model knew."""
        known = self.tokens - self.oov
        return 10 ** (-(self.log10_prob - self.oov_log10_prob) / known) if known else math.nan

    @property
    def oov_rate(self) -> float:
        return self.oov / self.tokens if self.tokens else 0.0


def train(texts: Iterable[str], out: str, order: int = ORDER, kenlm_bin: str | None = None, memory: str = "1G") -> str:
    """Estimate a character ``order``-gram model of ``texts`` and write it, packed, to
    ``out``. One thread's worth of work; the same texts give the same model."""
    lmplz, build_binary = (find_tool(name, kenlm_bin) for name in TOOLS)
    with tempfile.TemporaryDirectory(prefix="zhcorpus-lm-") as work:
        arpa = os.path.join(work, "model.arpa")
        command = [lmplz, "-o", str(order), "-S", memory, "-T", work, "--discount_fallback", "--arpa", arpa]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
            assert process.stdin is not None and process.stderr is not None
            try:
                for text in texts:
                    for sentence in char_sentences(text):
                        process.stdin.write(sentence.encode("utf-8") + b"\n")
                process.stdin.close()
            except BrokenPipeError:
                pass  # lmplz stopped early: its message follows
            errors = process.stderr.read().decode("utf-8", "replace")
        if process.returncode != 0:
            raise LanguageModelError(f"lmplz failed (exit {process.returncode}): {errors.strip()[-800:]}")
        packed = subprocess.run([build_binary, arpa, out], capture_output=True, text=True)
        if packed.returncode != 0:
            raise LanguageModelError(f"build_binary failed: {packed.stderr.strip()[-800:]}")
    return out


class Model:
    """A model written by ``train``, loaded once, scoring texts."""

    def __init__(self, path: str) -> None:
        import kenlm

        try:
            self._model = kenlm.Model(path)
        except (OSError, RuntimeError) as exc:
            raise LanguageModelError(f"{path}: not a KenLM model ({exc})") from exc

    @property
    def order(self) -> int:
        return int(self._model.order)

    def score(self, texts: Iterable[str]) -> Score:
        tokens = oov = 0
        total = unknown = 0.0
        for text in texts:
            for sentence in char_sentences(text):
                for log10_prob, _, is_oov in self._model.full_scores(sentence, bos=True, eos=True):
                    tokens += 1
                    total += log10_prob
                    if is_oov:
                        oov += 1
                        unknown += log10_prob
        return Score(tokens, total, oov, unknown)
