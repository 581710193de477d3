"""Config loading: the shipped configs load, and every kind of mistake exits 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from corpus.config import STAGE_ORDER, ConfigError, find_inputs, load_config, parse_config
from pipelines.cli import main
from tests.conftest import REPO

GOOD = """
sources:
  - name: news
    paths: ["news/*.jsonl"]
    format: jsonl
    stages: [clean]
    weight: 0.5
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "a.jsonl").write_text('{"text": "新闻"}\n', encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes("# 广告\n加微信\n".encode("gbk"))
    (tmp_path / "badre.txt").write_text("re:([unclosed\n", encoding="utf-8")
    (tmp_path / "control.txt").write_text("加\u200b微信\n", encoding="utf-8")
    (tmp_path / "empty-terms.txt").write_text("* *\n·\n", encoding="utf-8")
    return tmp_path


def _validate(config_dir: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = config_dir / "run.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    return code, capsys.readouterr().err


def test_sample_config_loads_with_every_source(sample_dir: Path) -> None:
    config = load_config(str(REPO / "configs" / "sample.yaml"))
    assert [s.name for s in config.sources] == ["web", "encyclopedia", "ebooks", "public", "reviews", "news"]
    assert {s.format for s in config.sources} == {"warc", "text", "jsonl", "parquet", "tsv"}
    web = config.source("web")
    assert web.paths[0] == str(sample_dir / "web" / "*.warc.gz")  # relative to the config's folder
    assert len(find_inputs(web)) >= 9
    assert config.stages.clean.min_chars == 60 and config.stages.clean.min_chinese_ratio == 0.4
    assert config.stages.repair.convert == "tw2sp"


def test_pangu_config_is_table_3() -> None:
    data = yaml.safe_load((REPO / "configs" / "pangu.yaml").read_text(encoding="utf-8"))
    config = parse_config(data)
    matrix = {source.name: source.stages for source in config.sources}
    assert matrix == {
        "public": ("repair", "dedup"),
        "encyclopedia": ("repair", "dedup"),
        "ebooks": ("repair", "sensitive", "spam"),
        "common_crawl": STAGE_ORDER,
        "news": ("repair", "dedup"),
    }
    assert sum(source.weight or 0 for source in config.sources) == pytest.approx(1.0, abs=0.001)


def test_defaults_and_relative_paths(config_dir: Path) -> None:
    path = config_dir / "run.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(str(path))
    (news,) = config.sources
    assert news.paths == (str(config_dir / "news" / "*.jsonl"),)
    assert (news.text_field, news.id_field, news.encoding) == ("text", "id", "auto")
    assert [f.rel for f in find_inputs(news)] == ["a.jsonl"]
    assert config.read.max_doc_bytes == 10_000_000 and config.output.format == "jsonl.gz"


def test_valid_config_validates(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_dir / "run.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "min_chars: 60" in out and "# news: 1 files, stages: repair, clean" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "bogus: 1\n", "unknown key 'bogus'"),
        (GOOD.replace("weight: 0.5", "weight: 0.5\n    colour: red"), "sources[0] (news): unknown key 'colour'"),
        (GOOD.replace("[clean]", "[clean, dedupe]"), "sources[0] (news).stages[1]"),
        (GOOD.replace("[clean]", "[clean, clean]"), "stage listed twice: clean"),
        (GOOD.replace("format: jsonl", "format: xml"), "sources[0] (news).format"),
        (GOOD.replace("weight: 0.5", "weight: -1.0"), "sources[0] (news).weight"),
        (GOOD.replace("weight: 0.5", "weight: lots"), "sources[0] (news).weight"),
        (GOOD.replace("news/*.jsonl", "nowhere/*.jsonl"), "no file matches"),
        (GOOD + "stages:\n  clean:\n    min_chinese_ratio: 1.5\n", "stages.clean.min_chinese_ratio"),
        (GOOD + "stages:\n  clean:\n    min_chars: -1\n", "stages.clean.min_chars"),
        (GOOD + "stages:\n  clean:\n    min_chars: '150'\n", "stages.clean.min_chars"),
        (GOOD + "stages:\n  clean:\n    mode: sometimes\n", "stages.clean.mode"),
        (GOOD + "stages:\n  spam: {threshold: 0.8}\n", "stages.spam.model: missing"),
        (GOOD + "stages:\n  spam: {model: m.bin, threshold: 1.5}\n", "stages.spam.threshold"),
        (GOOD.replace("[clean]", "[spam]") + "stages:\n  spam: {model: nowhere.bin}\n", "stages.spam.model: model not found"),
        (GOOD + "stages:\n  dedup: {threshold: 1.0}\n", "stages.dedup.threshold"),
        (GOOD + "stages:\n  dedup: {bands: 20}\n", "give both bands and rows"),
        (GOOD + "stages:\n  dedup: {bands: 20, rows: 10}\n", "bands * rows = 200 is more than num_perm = 128"),
        (GOOD + "stages:\n  dedup: {exact: false, near: false}\n", "exact and near are both off"),
        (GOOD + "stages:\n  dedup: {priority: [news, nosuch]}\n", "priority names unknown sources: nosuch"),
        (GOOD + "stages:\n  dedup: {ngram: 0}\n", "stages.dedup.ngram"),
        (GOOD + "output:\n  shard_bytes: 0\n", "output.shard_bytes"),
        (GOOD + "  - name: news\n    paths: ['news/*.jsonl']\n    format: jsonl\n", "source name used twice: news"),
        (GOOD + "seed: 1\nseed: 2\n", "key 'seed' appears twice"),
        ("sources: []\n", "sources"),
        ("- just a list\n", "top level must be a mapping"),
        ("sources: [\n", "not valid YAML"),
        (GOOD.replace("format: jsonl", "format: jsonl\n    name: other"), "appears twice"),
        (GOOD.replace("[clean]", "[spam]"), "stages.spam.model is not set"),
        (
            GOOD.replace("[clean]", "[sensitive]")
            + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: gbk.txt}\n",
            "gbk.txt: not UTF-8",
        ),
        (
            GOOD.replace("[clean]", "[sensitive]")
            + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: empty-terms.txt}\n",
            "no term is left once normalised",
        ),
        (GOOD.replace("weight: 0.5", "rules_off: [navigaton]"), "sources[0] (news).rules_off[0]"),
        (GOOD.replace("weight: 0.5", "encoding: gbkk"), "unknown encoding 'gbkk'"),
        (
            GOOD.replace("[clean]", "[sensitive]")
            + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: gone.txt}\n",
            "gone.txt: cannot be read",
        ),
        (
            GOOD
            + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: gbk.txt}\n      - {name: a, rules: gbk.txt}\n",
            "category name used twice: a",
        ),
        (GOOD + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: gbk.txt, max_hits: -1}\n", "max_hits"),
        (GOOD + "stages:\n  sensitive:\n    categories:\n      - {name: a, rules: gbk.txt, count: words}\n", "count"),
        (GOOD + "stages:\n  clean:\n    convert: s2t\n", "stages.clean.convert"),
        (GOOD + "stages:\n  clean:\n    ad_rules: missing.txt\n", "missing.txt: cannot be read"),
        (GOOD + "stages:\n  clean:\n    ad_rules: gbk.txt\n", "gbk.txt: not UTF-8 (line 1)"),
        (GOOD + "stages:\n  clean:\n    navigation_rules: badre.txt\n", "badre.txt, line 1: bad pattern"),
        (GOOD + "stages:\n  clean:\n    ad_rules: badre.txt\n", "patterns (re:, tail:) are not allowed"),
        (GOOD + "stages:\n  clean:\n    ad_rules: control.txt\n", "control.txt, line 1: invalid characters U+200B"),
    ],
)
def test_bad_config_exits_2_naming_the_key(
    config_dir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, err = _validate(config_dir, text, capsys)
    assert code == 2
    assert expected in err
    assert err.startswith("zhcorpus: ") and "Traceback" not in err


def test_missing_and_non_utf8_config_files(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(config_dir / "absent.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    path = config_dir / "gbk.yaml"
    path.write_bytes(GOOD.replace("news", "新闻").encode("gbk"))
    assert main(["validate", str(path)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_parse_config_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"sources": [{"name": "a", "paths": ["x"], "format": "nope", "extra": 1}], "seed": "x"})
    message = str(caught.value)
    assert "sources[0] (a).format" in message and "unknown key 'extra'" in message and "seed" in message


def test_rule_file_paths_are_relative_to_the_config(config_dir: Path) -> None:
    (config_dir / "rules").mkdir()
    (config_dir / "rules" / "ads.txt").write_text("加微信\n", encoding="utf-8")
    path = config_dir / "run.yaml"
    path.write_text(GOOD + "stages:\n  clean:\n    ad_rules: rules/ads.txt\n", encoding="utf-8")
    config = load_config(str(path))
    assert config.stages.clean.ad_rules == str(config_dir / "rules" / "ads.txt")
    assert config.stages.clean.navigation_rules is None  # the example list shipped in filters/rules/


def test_bad_command_lines_exit_2(config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_dir / "run.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--wokers", "2"]) == 2
    assert "unknown option(s): --wokers 2" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["run", str(path), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "-2"])
    assert caught.value.code == 2
