"""A character n-gram language model with modified Kneser-Ney smoothing, by KenLM.

KenLM's ``lmplz`` estimates the model (interpolated modified Kneser-Ney, the standard for
n-gram models) and ``build_binary`` packs it; the ``kenlm`` Python module scores text.
``lmplz`` and ``build_binary`` are built from the source in the ``kenlm`` package on PyPI
with Debian's boost (``make kenlm`` puts them next to the virtualenv's Python).

Tokens are characters: Chinese needs no segmentation that way, and two runs' models share
one kind of vocabulary whatever their text. Each non-empty line of a document is one
sentence; every white-space character inside a line (Python's ``str.isspace``, a superset
of what KenLM splits on) becomes ``▁``; other control and format characters are dropped.
The perplexity counts every character and each line's end (``</s>``). Characters the
model never saw score as ``<unk>``, whose probability depends on the model (the less text,
the likelier): scores of models that know different characters are compared over the
tokens every one of them knows (``Scores.perplexity_over``).
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

import numpy as np

SPACE = "\u2581"
"""What a white-space character inside a line becomes (KenLM splits tokens at spaces)."""
ORDER = 5
"""Characters of context plus one: 5-grams of characters, a few Chinese words."""
MIN_ORDER, MAX_ORDER = 2, 6
"""lmplz needs bigrams at least; the kenlm module is compiled for up to 6-grams."""
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
class Scores:
    """Every dev token's log10 probability under one model, and whether it was unknown."""

    log10_probs: np.ndarray
    oov: np.ndarray
    """True where the model did not know the token (scored as <unk>)."""

    @property
    def tokens(self) -> int:
        return len(self.log10_probs)

    @property
    def oov_count(self) -> int:
        return int(self.oov.sum())

    @property
    def oov_rate(self) -> float:
        return self.oov_count / self.tokens if self.tokens else math.nan

    @property
    def perplexity(self) -> float:
        """Over every token, <unk> included (only comparable between models that know the
        same characters)."""
        return self.perplexity_over(np.ones(self.tokens, dtype=bool))

    def perplexity_over(self, mask: np.ndarray) -> float:
        """Over the tokens where ``mask`` is true (e.g. those every compared model knows)."""
        counted = int(mask.sum())
        return float(10 ** (-float(self.log10_probs[mask].sum(dtype=np.float64)) / counted)) if counted else math.nan


def train(texts: Iterable[str], out: str, order: int = ORDER, kenlm_bin: str | None = None, memory: str = "1G") -> str:
    """Estimate a character ``order``-gram model of ``texts`` and write it, packed, to
    ``out``; the same texts give the same model."""
    if not MIN_ORDER <= order <= MAX_ORDER:
        raise LanguageModelError(f"order {order}: KenLM here takes {MIN_ORDER} to {MAX_ORDER}")
    lmplz, build_binary = (find_tool(name, kenlm_bin) for name in TOOLS)
    with tempfile.TemporaryDirectory(prefix="zhcorpus-lm-") as work:
        arpa = os.path.join(work, "model.arpa")
        command = [lmplz, "-o", str(order), "-S", memory, "-T", work, "--discount_fallback", "--arpa", arpa]
        sentences = 0
        with open(os.path.join(work, "lmplz.log"), "w+b") as log:  # a file: a full pipe cannot block lmplz
            with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log) as process:
                assert process.stdin is not None
                try:
                    for text in texts:
                        for sentence in char_sentences(text):
                            process.stdin.write(sentence.encode("utf-8") + b"\n")
                            sentences += 1
                    process.stdin.close()
                except BrokenPipeError:
                    pass  # lmplz stopped early: its message is in the log
            log.seek(0)
            errors = log.read().decode("utf-8", "replace")
        if sentences == 0:
            raise LanguageModelError("no text to train a language model on")
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

    def score(self, texts: Iterable[str]) -> Scores:
        probs: list[float] = []
        unknown: list[bool] = []
        for text in texts:
            for sentence in char_sentences(text):
                for log10_prob, _, is_oov in self._model.full_scores(sentence, bos=True, eos=True):
                    probs.append(log10_prob)
                    unknown.append(is_oov)
        return Scores(np.asarray(probs, dtype=np.float64), np.asarray(unknown, dtype=bool))
