"""A GBK file with a few UTF-8 lines: the UTF-8 lines are read as UTF-8, never as the
mojibake GB18030 makes of them without an error (issue: reliability, row 7)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from corpus.encoding import decode_line
from tests.conftest import read_all


@pytest.fixture(scope="module")
def phrases(sample_dir: Path) -> tuple[list[str], list[str]]:
    """Real phrases of 三国演义: ones whose UTF-8 bytes are also valid GB18030 (the trap),
    and ordinary ones."""
    chapters = gzip.decompress((sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()).decode().splitlines()
    text = "".join(json.loads(line)["text"].replace("\n", "") for line in chapters[:3])
    phrases = [phrase for phrase in re.split("[。，！？：；]", text) if 6 <= len(phrase) <= 30 and not re.search(r"\s", phrase)]
    traps = []
    for phrase in phrases:
        try:
            phrase.encode("utf-8").decode("gb18030")
        except UnicodeDecodeError:
            continue
        traps.append(phrase)
    assert len(traps) >= 20
    return traps[:20], [phrase for phrase in phrases if phrase not in traps][:80]


def _mixed(traps: list[str], plain: list[str]) -> tuple[list[str], list[bytes]]:
    """Four GBK lines, then a UTF-8 one that GB18030 would decode too, and so on."""
    lines, raw = [], []
    for index, phrase in enumerate(plain):
        lines.append(phrase)
        raw.append(phrase.encode("gbk"))
        if index % 4 == 3:
            trap = traps[index // 4]
            lines.append(trap)
            raw.append(trap.encode("utf-8"))
    return lines, raw


def test_the_trap_is_real(phrases: tuple[list[str], list[str]]) -> None:
    traps, _ = phrases
    mojibake = traps[0].encode("utf-8").decode("gb18030")
    assert mojibake != traps[0] and len(mojibake) > 0  # what the old reader kept, without an error
    assert decode_line(traps[0].encode("utf-8"), "gb18030") == (traps[0], "utf-8")
    assert decode_line(traps[0].encode("gbk"), "gb18030") == (traps[0], "gb18030")


def test_text_file(phrases: tuple[list[str], list[str]], tmp_path: Path) -> None:
    lines, raw = _mixed(*phrases)
    path = tmp_path / "page.txt"
    path.write_bytes(b"\n".join(raw) + b"\n")
    [doc] = read_all(path, "text")
    assert doc.removal is None
    assert doc.text.splitlines() == lines
    assert doc.meta_value("encoding") == "gb18030" and doc.meta_value("utf8_lines") == 20


def test_lines_and_jsonl_files(phrases: tuple[list[str], list[str]], tmp_path: Path) -> None:
    lines, raw = _mixed(*phrases)
    (tmp_path / "a.txt").write_bytes(b"\n".join(raw) + b"\n")
    assert [doc.text for doc in read_all(tmp_path / "a.txt", "lines")] == lines
    records = [
        (json.dumps({"id": str(i), "text": line}, ensure_ascii=False).encode("utf-8" if b.isascii() or _is_utf8(b) else "gbk"))
        for i, (line, b) in enumerate(zip(lines, raw, strict=True))
    ]
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(records) + b"\n")
    docs = read_all(tmp_path / "a.jsonl", "jsonl")
    assert [doc.text for doc in docs] == lines
    assert sum(doc.meta_value("encoding") == "gb18030" for doc in docs) == 80


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_tsv_file(phrases: tuple[list[str], list[str]], tmp_path: Path) -> None:
    lines, raw = _mixed(*phrases)
    rows = [b"1\t" + line for line in raw]
    (tmp_path / "a.tsv").write_bytes(b"label\ttext\n" + b"\n".join(rows) + b"\n")
    docs = read_all(tmp_path / "a.tsv", "tsv", text_template="{text}")
    assert [doc.text for doc in docs] == lines
