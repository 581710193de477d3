"""Chinese word segmentation identical to ``jieba.cut(text, cut_all=False)``, five times faster.

PanGu's tokenizer segments with jieba in its default mode, HMM on. Pure-Python jieba runs at
about 1.1 MB/s per core here and would dominate the whole pipeline. ``rjieba`` (a binding of
the Rust port jieba-rs, same dictionary) runs at about 23 MB/s, but its HMM mode differs from
jieba's on most documents. Its HMM-*off* mode, however, gave exactly
``jieba.lcut(text, HMM=False)`` on every real document tried (the sample corpus), and
jieba's HMM mode is its HMM-off mode plus one extra step. So ``segment`` runs rjieba with the
HMM off and then replays that step in Python, with jieba's own dictionary and jieba's own
HMM (``jieba.finalseg``):

jieba cuts a text into blocks of "han" characters (``[\\u4E00-\\u9FD5a-zA-Z0-9+#&._%-]``) and
the rest. The rest comes out one character at a time, white space runs split per character
except ``\\r\\n``. In a han block it takes the maximum-probability path through its word DAG
("pieces"). With the HMM off, each piece is a token, except that consecutive single-letter
ASCII pieces (``[a-zA-Z0-9]``) are merged into one token. With the HMM on, consecutive
single-character pieces are collected into a buffer; a buffer of one character is a token,
a buffer that is itself a dictionary word is split into characters, and any other buffer
goes to the HMM (Viterbi over B/M/E/S states), which may join characters into new words.

Undoing the ASCII merge is the one subtle part: a multi-letter ASCII token from the HMM-off
output is either one dictionary piece or several single-letter pieces. It is a piece when
the best path through the token alone is the whole token (the best path through a sentence
passes through the best sub-path between any two of its cut points).

``tests/sampling/test_segment.py`` checks ``segment`` against ``jieba.lcut`` on a slice of
the real sample corpus, simplified and traditional; ``bench/tokens.py`` measures both.
``method="jieba"`` runs jieba itself (the reference), ``"jieba-nohmm"`` rjieba alone
(identical to ``jieba.lcut(text, HMM=False)``, the fastest).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

SegmentMethod = Literal["fast", "jieba", "jieba-nohmm"]
SEGMENT_METHODS: tuple[str, ...] = ("fast", "jieba", "jieba-nohmm")

# jieba 0.42.1's block pattern (jieba/__init__.py: re_han_default), as characters.
_HAN_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#&._%-")
_ASCII_ALNUM = re.compile(r"[a-zA-Z0-9]+\Z")
_MEMO_RUNS = 200_000  # remembered runs (and ASCII tokens) of at most _MEMO_MAX_CHARS ...
_MEMO_MAX_CHARS = 64  # ... characters: 200,000 x (64 x 2 + overhead) bytes, some tens of MB at most
_SEP = "\x00"
WORD_SEP = _SEP
"""What ``Segmenter.joined`` puts between words."""
# One whole token that may be a single-character piece: a han-class character, or ASCII
# letters and digits (HMM-off output merges single-letter pieces). A run is two or more
# of them in a row, or one multi-letter ASCII token; whole tokens only.
_PIECE = "(?:[\u4e00-\u9fd5+#&._%\\-]|[a-zA-Z0-9]+)(?![^\x00])"
_RUN = re.compile(f"(?<![^\\x00])(?:{_PIECE}(?:\\x00{_PIECE})+|[a-zA-Z0-9]{{2,}}(?![^\\x00]))")


def _is_han(char: str) -> bool:
    return ("\u4e00" <= char <= "\u9fd5") or char in _HAN_ASCII


class Segmenter:
    """``cut(text) -> list[str]``, the words of ``jieba.cut(text, cut_all=False)``.

    Heavy state (jieba's dictionary, about 60 MB of Python dict) is loaded on first use, so
    a Segmenter can be built in a Beam DoFn's ``setup()`` or pickled unused.
    """

    def __init__(self, method: SegmentMethod = "fast") -> None:
        if method not in SEGMENT_METHODS:
            raise ValueError(f"unknown segmentation method {method!r}; choose one of {', '.join(SEGMENT_METHODS)}")
        self.method = method
        self._cut: Callable[[str], list[str]] | None = None
        self._joined: Callable[[str], str] | None = None

    def __getstate__(self) -> dict:
        return {"method": self.method, "_cut": None, "_joined": None}

    def cut(self, text: str) -> list[str]:
        if self._cut is None:
            self._load()
        assert self._cut is not None
        return self._cut(text)

    def joined(self, text: str) -> str | None:
        """The words joined by NUL in one string (cheaper than a list), or None when this
        method cannot (jieba itself, or a text that holds NUL): then use ``cut``."""
        if self._cut is None:
            self._load()
        if self._joined is None or _SEP in text:
            return None
        return self._joined(text)

    def _load(self) -> None:
        if self.method == "jieba":
            import jieba

            jieba.setLogLevel(60)
            jieba.initialize()
            self._cut = lambda text: jieba.lcut(text, cut_all=False, HMM=True)
            return
        import rjieba

        if self.method == "jieba-nohmm":
            self._cut = lambda text: rjieba.cut(text, False)
            self._joined = lambda text: _SEP.join(rjieba.cut(text, False))
            return
        fast = _FastHmm(rjieba.cut)
        self._cut, self._joined = fast.cut, fast.joined


class _FastHmm:
    """rjieba's HMM-off pieces, then jieba's HMM step over runs of single characters.

    The HMM-off tokens are joined with NUL into one string and a regular expression finds
    the runs that the HMM step can change (two or more single-character pieces, or a
    multi-letter ASCII token): only those reach Python code, everything else stays in C.
    A text that itself holds NUL takes a plain token-by-token loop.
    """

    def __init__(self, cut_no_hmm: Callable[[str, bool], list[str]]) -> None:
        import jieba
        from jieba import finalseg

        jieba.setLogLevel(60)
        jieba.initialize()
        self._jieba = jieba.dt
        self._freq = jieba.dt.FREQ
        self._hmm = _Viterbi(finalseg.start_P, finalseg.trans_P, finalseg.emit_P).cut
        self._cut_no_hmm = cut_no_hmm
        self._ascii_piece: dict[str, bool] = {}
        self._run_words: dict[str, str] = {}

    def cut(self, text: str) -> list[str]:
        if _SEP in text:
            return self._words(self._cut_no_hmm(text, False))
        joined = self.joined(text)
        return joined.split(_SEP) if joined else []

    def joined(self, text: str) -> str:
        """The words joined by NUL (``text`` must not hold NUL)."""
        tokens = self._cut_no_hmm(text, False)
        if not tokens:
            return ""
        return _RUN.sub(self._replace_run, _SEP.join(tokens))

    def _replace_run(self, match: re.Match[str]) -> str:
        # Runs repeat a lot (short function-word runs such as "的是", digits, Latin words):
        # remember each run's words. Bounded so that memory does not grow with the input.
        run = match[0]
        words = self._run_words.get(run)
        if words is None:
            if 2 * run.count(_SEP) + 1 == len(run):  # single-character tokens only: one buffer
                chars = run[::2]
                words = run if self._freq.get(chars) else _SEP.join(self._hmm(chars))
            else:
                words = _SEP.join(self._words(run.split(_SEP)))
            if len(self._run_words) < _MEMO_RUNS and len(run) <= _MEMO_MAX_CHARS:
                self._run_words[run] = words
        return words

    def _words(self, tokens: list[str]) -> list[str]:
        """jieba's HMM-mode words from HMM-off tokens (see the module docstring)."""
        words: list[str] = []
        buffer: list[str] = []  # consecutive single-character pieces of one han block
        for token in tokens:
            if len(token) == 1:
                if _is_han(token):
                    buffer.append(token)
                    continue
            elif token.isascii() and _ASCII_ALNUM.match(token) and not self._is_ascii_piece(token):
                buffer.extend(token)  # HMM-off merged single-letter pieces: undo the merge
                continue
            if buffer:
                self._flush(buffer, words)
                buffer = []
            words.append(token)
        if buffer:
            self._flush(buffer, words)
        return words

    def _flush(self, buffer: list[str], words: list[str]) -> None:
        if len(buffer) == 1:
            words.append(buffer[0])
            return
        run = "".join(buffer)
        if self._freq.get(run):
            words.extend(run)
            return
        words.extend(self._hmm(run))

    def _is_ascii_piece(self, token: str) -> bool:
        """Is this multi-letter ASCII token one dictionary piece (not merged single letters)?"""
        known = self._ascii_piece.get(token)
        if known is None:
            if not self._freq.get(token):
                known = False
            else:
                route: dict[int, tuple[float, int]] = {}
                self._jieba.calc(token, self._jieba.get_DAG(token), route)
                known = route[0][1] == len(token) - 1
            if len(self._ascii_piece) < _MEMO_RUNS and len(token) <= _MEMO_MAX_CHARS:
                self._ascii_piece[token] = known
        return known


_HMM_HAN = re.compile("([\u4e00-\u9fd5]+)")
_HMM_HAN_ONLY = re.compile("[\u4e00-\u9fd5]+\\Z")
_HMM_OTHER = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_MIN_FLOAT = -3.14e100  # jieba.finalseg.MIN_FLOAT: the log probability of an unseen emission


class _Viterbi:
    """jieba's HMM word finder (``jieba.finalseg.cut``), unrolled for its four states.

    The states are B(egin), M(iddle), E(nd) and S(ingle); the model's probabilities are
    jieba's own. Every sum is formed in the same order as in ``finalseg.viterbi`` and every
    tie is broken the same way (``max`` over ``(probability, state)`` tuples prefers the
    later letter), so the best path is the same, bit for bit; three times faster because
    it does no dict-of-dicts or tuple work per step.
    """

    def __init__(self, start: dict, trans: dict, emit: dict) -> None:
        self._start = (start["B"], start["M"], start["E"], start["S"])
        self._trans = (
            trans["B"]["E"], trans["B"]["M"], trans["E"]["B"], trans["E"]["S"],
            trans["M"]["E"], trans["M"]["M"], trans["S"]["B"], trans["S"]["S"],
        )  # fmt: skip
        # One lookup per character instead of four: each character's four emission log
        # probabilities, the same floats (an unseen pair keeps jieba's MIN_FLOAT).
        low = _MIN_FLOAT
        chars = set().union(*(emit[state] for state in "BMES"))
        self._emit = {char: tuple(emit[state].get(char, low) for state in "BMES") for char in chars}
        self._unseen = (low, low, low, low)

    def cut(self, run: str) -> list[str]:
        """The words of ``list(jieba.finalseg.cut(run))``."""
        if _HMM_HAN_ONLY.match(run):
            return self._han_words(run)
        words: list[str] = []
        for i, block in enumerate(_HMM_HAN.split(run)):
            if i % 2:
                words.extend(self._han_words(block))
            else:
                words.extend(part for part in _HMM_OTHER.split(block) if part)
        return words

    def _han_words(self, han: str) -> list[str]:
        states = self._states(han)
        words: list[str] = []
        begin = end = 0
        for i, state in enumerate(states):
            if state == "B":
                begin = i
            elif state == "E":
                words.append(han[begin : i + 1])
                end = i + 1
            elif state == "S":
                words.append(han[i])
                end = i + 1
        if end < len(han):
            words.append(han[end:])
        return words

    def _states(self, han: str) -> list[str]:
        """The most probable B/M/E/S state of each character."""
        emissions, unseen = self._emit, self._unseen
        b_e, b_m, e_b, e_s, m_e, m_m, s_b, s_s = self._trans
        start_b, start_m, start_e, start_s = self._start
        emit_b, emit_m, emit_e, emit_s = emissions.get(han[0], unseen)
        v_b = start_b + emit_b
        v_m = start_m + emit_m
        v_e = start_e + emit_e
        v_s = start_s + emit_s
        back: list[tuple[str, str, str, str]] = []
        for char in han[1:]:
            emit_b, emit_m, emit_e, emit_s = emissions.get(char, unseen)
            from_e, from_s = v_e + e_b + emit_b, v_s + s_b + emit_b
            n_b, p_b = (from_s, "S") if from_s >= from_e else (from_e, "E")
            from_m, from_b = v_m + m_m + emit_m, v_b + b_m + emit_m
            n_m, p_m = (from_m, "M") if from_m >= from_b else (from_b, "B")
            from_b, from_m = v_b + b_e + emit_e, v_m + m_e + emit_e
            n_e, p_e = (from_m, "M") if from_m >= from_b else (from_b, "B")
            from_s, from_e = v_s + s_s + emit_s, v_e + e_s + emit_s
            n_s, p_s = (from_s, "S") if from_s >= from_e else (from_e, "E")
            back.append((p_b, p_m, p_e, p_s))
            v_b, v_m, v_e, v_s = n_b, n_m, n_e, n_s
        state = "S" if v_s >= v_e else "E"
        states = [state]
        for previous in reversed(back):
            state = previous["BMES".index(state)]
            states.append(state)
        states.reverse()
        return states
