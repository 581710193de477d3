"""The dedup stage in Beam on real People's Daily articles: who survives, who is removed
and why, what the report says."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline

from corpus.config import DedupConfig, RunConfig, SourceConfig, StagesConfig
from corpus.reasons import Reason
from corpus.record import Document
from filters.dedup import Deduplicate, DedupPlan, node_key, node_parts
from filters.minhash import jaccard, normalise, shingle_set
from tests.conftest import read_news

Outcome = tuple[dict[tuple[str, str], Document], dict[tuple[str, str], Document], dict[str, Any]]


@pytest.fixture(scope="module")
def articles() -> list[str]:
    """Real articles of 300+ characters, none a near-duplicate of another (checked)."""
    texts = [doc.text for doc in read_news() if len(doc.text) >= 300][:80]
    sets = [shingle_set(normalise(text), 5) for text in texts]
    assert max(jaccard(a, b) for a, b in itertools.combinations(sets, 2)) < 0.5
    return texts


def edited(text: str, every: int, salt: str = "") -> str:
    """The text with every ``every``-th character replaced: a near copy."""
    return "".join(("某" if salt == "" else salt) if i % every == every // 2 else char for i, char in enumerate(text))


def similarity(first: str, second: str) -> float:
    return jaccard(shingle_set(normalise(first), 5), shingle_set(normalise(second), 5))


def _config(sources: dict[str, list[str]], **dedup: Any) -> RunConfig:
    return RunConfig(
        sources=tuple(
            SourceConfig(name=name, paths=("unused",), format="jsonl", stages=tuple(stages)) for name, stages in sources.items()
        ),  # type: ignore[arg-type]
        stages=StagesConfig(dedup=DedupConfig(**dedup)),
    )


def _save(items: list[Any], path: str) -> None:
    Path(path).write_bytes(pickle.dumps(items))


def run_dedup(tmp_path: Path, docs: list[Document] | tuple[int, Callable[[int], Document]], config: RunConfig) -> Outcome:
    """Runs the stage on ``docs``, or on ``(count, make)``: documents made in the pipeline
    (a large list given to ``beam.Create`` is pickled and compressed several times)."""
    with BeamPipeline() as pipeline:
        if isinstance(docs, tuple):
            count, make = docs
            created = pipeline | beam.Create(range(count)) | "Make" >> beam.Map(make)
        else:
            count, created = len(docs), pipeline | beam.Create(docs)
        kept, removed, report = created | Deduplicate(DedupPlan.for_run(config), str(tmp_path / "work"))
        kept, removed = kept | "Kept" >> beam.Flatten(), removed | "Removed" >> beam.Flatten()
        for name, collection in (("kept", kept), ("removed", removed), ("report", report)):
            _ = collection | f"List/{name}" >> beam.combiners.ToList() | f"Save/{name}" >> beam.Map(_save, str(tmp_path / name))
    kept_docs, removed_docs, (report_content,) = (
        pickle.loads((tmp_path / name).read_bytes()) for name in ("kept", "removed", "report")
    )
    by_id = lambda found: {(doc.source, doc.doc_id): doc for doc in found}  # noqa: E731
    assert len(kept_docs) + len(removed_docs) == count  # nothing lost, nothing doubled
    return by_id(kept_docs), by_id(removed_docs), report_content


TWO = {"news": ["dedup"], "web": ["dedup"]}


def test_duplicates_across_sources_collapse_to_the_priority_source(tmp_path: Path, articles: list[str]) -> None:
    a, b, c = articles[:3]
    near_b = edited(b, 50)
    assert 0.8 < similarity(b, near_b) < 0.95
    docs = [
        Document("a", "news", a),
        Document("a-copy", "web", a.replace("，", " , ").replace("。", "\n")),  # same letters and digits
        Document("b-longer", "web", b + "。"),  # longer, but web comes after news
        Document("b-edited", "news", near_b),
        Document("c", "web", c),
        *(Document(f"other-{i}", "news", text) for i, text in enumerate(articles[3:40])),
    ]
    kept, removed, report = run_dedup(tmp_path, docs, _config(TWO, priority=("news",)))
    assert set(removed) == {("web", "a-copy"), ("web", "b-longer")}
    exact, near = removed[("web", "a-copy")].removal, removed[("web", "b-longer")].removal
    assert exact is not None and exact.reason is Reason.EXACT_DUPLICATE and exact.stage == "dedup"
    assert "survivor news/a" in exact.detail and "cluster exact-" in exact.detail and "of 2 documents" in exact.detail
    assert near is not None and near.reason is Reason.NEAR_DUPLICATE and "survivor news/b-edited" in near.detail
    assert kept[("news", "b-edited")].text == near_b and not kept[("news", "b-edited")].verdicts
    assert report["lost_to"] == {"web": {"news": 2}}
    assert report["sources"]["web"]["removed"] == {"exact_duplicate": 1, "near_duplicate": 1}
    assert report["sources"]["news"]["docs_seen"] == 39 and report["sources"]["news"]["removed"] == {}
    assert report["cluster_sizes"] == {"exact": {"2": 1}, "near": {"2": 1}}
    assert report["settings"]["bands"] * report["settings"]["rows"] <= 128
    assert report["verify"] == {"candidate_pairs": 1, "rejected": 0}


def test_without_priority_the_longer_document_survives(tmp_path: Path, articles: list[str]) -> None:
    text = articles[0]
    docs = [Document("short", "news", text), Document("long", "web", text + "另加一句话作为结尾。")]
    kept, removed, _ = run_dedup(tmp_path, docs, _config(TWO))
    assert set(kept) == {("web", "long")} and set(removed) == {("news", "short")}


def test_unrelated_documents_are_untouched(tmp_path: Path, articles: list[str]) -> None:
    docs = [Document(f"n{i}", "news", text) for i, text in enumerate(articles)]
    kept, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}))
    assert not removed and all(kept[("news", doc.doc_id)] == doc for doc in docs)
    assert report["largest_clusters"] == [] and report["lost_to"] == {}


def test_a_chain_clusters_together(tmp_path: Path, articles: list[str]) -> None:
    """Windows of one long text, each shifted by 70 characters: neighbours are near
    duplicates (Jaccard ~0.87), the two ends are not (~0.75); all three are one cluster."""
    text = normalise("".join(articles))  # letters and digits only: the three have equal length
    first, second, third = (text[shift : shift + 1000] for shift in (0, 70, 140))
    assert similarity(first, second) >= 0.8 and similarity(second, third) >= 0.8 and similarity(first, third) < 0.8
    docs = [Document("x1", "news", first), Document("x2", "news", second), Document("x3", "news", third)]
    kept, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}))
    assert set(kept) == {("news", "x1")}  # all the same length: the smallest id survives
    cluster = report["largest_clusters"][0]["cluster"]
    assert {doc.removal.detail for doc in removed.values()} == {f"cluster {cluster} of 3 documents; survivor news/x1"}


def _huge_bucket_doc(index: int, page: str, other: str) -> Document:
    if index < 10_000:
        return Document(f"same-{index:05d}", "web" if index % 2 else "news", page)
    index -= 10_000
    return Document(f"near-{index:04d}", "news", other + f"第{index}号")


def test_a_huge_bucket_is_linear(tmp_path: Path, articles: list[str]) -> None:
    """10,000 identical pages are one exact group; 2,000 near-identical ones one near
    cluster whose candidate pairs are at most one per bucket member (a star from each
    bucket's smallest node), not the 2 million of all pairs."""
    make = partial(_huge_bucket_doc, page=articles[0], other=articles[1])
    kept, _, report = run_dedup(tmp_path, (12_000, make), _config(TWO, priority=("web",)))
    assert set(kept) == {("web", "same-00001"), ("news", "near-1000")}  # the first of the longest
    assert report["cluster_sizes"] == {"exact": {"8192-16383": 1}, "near": {"1024-2047": 1}}
    bands = report["settings"]["bands"]
    assert 1_999 <= report["verify"]["candidate_pairs"] <= bands * 1_999
    assert report["largest_clusters"][0]["size"] == 10_000 and len(report["largest_clusters"][0]["examples"]) == 5
    assert report["lost_to"] == {"news": {"news": 1_999, "web": 5_000}, "web": {"web": 4_999}}


def test_verify_removes_lsh_false_positives(tmp_path: Path, articles: list[str]) -> None:
    """128 bands of 1 row make any pair sharing one minimum a candidate: without
    verification documents at Jaccard ~0.5 are removed; with it they stay."""
    text = articles[0]
    half = text[: len(text) // 2] + articles[1][: len(text) // 2]
    assert 0.2 < similarity(text, half) < 0.7
    docs = [Document("full", "news", text), Document("half", "news", half)]
    _, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, bands=128, rows=1, verify=False))
    assert len(removed) == 1
    _, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, bands=128, rows=1, verify=True))
    assert not removed and report["verify"] == {"candidate_pairs": 1, "rejected": 1}


def test_exact_only_and_near_only(tmp_path: Path, articles: list[str]) -> None:
    docs = [
        Document("a", "news", articles[0]),
        Document("a2", "news", articles[0] + " "),
        Document("b", "news", articles[1]),
        Document("b2", "news", edited(articles[1], 80)),
    ]
    _, removed, _ = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, near=False))
    assert {key[1]: doc.removal.reason for key, doc in removed.items()} == {"a2": Reason.EXACT_DUPLICATE}
    _, removed, _ = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, exact=False))
    # one of each pair goes (b2 is the longer of b's pair when an edit hit punctuation)
    assert sorted((key[1][0], doc.removal.reason) for key, doc in removed.items()) == [
        ("a", Reason.NEAR_DUPLICATE),
        ("b", Reason.NEAR_DUPLICATE),
    ]


def test_annotate_mode_keeps_everything_with_verdicts(tmp_path: Path, articles: list[str]) -> None:
    docs = [Document("a", "news", articles[0]), Document("a2", "news", articles[0]), Document("b", "news", articles[1])]
    kept, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, mode="annotate"))
    assert not removed and len(kept) == 3
    (verdict,) = kept[("news", "a2")].verdicts
    assert verdict.reason is Reason.EXACT_DUPLICATE and not verdict.enforced
    assert report["sources"]["news"]["removed"] == {"exact_duplicate": 1} and report["settings"]["mode"] == "annotate"


def test_paragraph_mode_removes_shared_paragraphs(tmp_path: Path, articles: list[str]) -> None:
    footer = "本页面中文版由中文手册页计划提供，欢迎转载并注明出处。"
    docs = [
        Document("first", "news", articles[0] + "\n" + footer + "\n" + articles[5]),
        Document("second", "news", articles[1] + "\n" + footer + "\n" + articles[2][:50]),
        Document("only-shared", "news", footer + "\n" + articles[0]),
        Document("short-line", "news", articles[3] + "\n短行"),
        Document("short-line-2", "news", articles[4] + "\n短行"),
    ]
    kept, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, paragraphs=True, near=False))
    # "first" is the longest holder of the footer and of articles[0]: it keeps both.
    assert set(removed) == {("news", "only-shared")}
    assert removed[("news", "only-shared")].removal.reason is Reason.DUPLICATE_PARAGRAPHS
    second = kept[("news", "second")]
    assert footer not in second.text and second.text == articles[1] + "\n" + articles[2][:50]
    assert second.verdicts[0].reason is Reason.CROSS_DOCUMENT_PARAGRAPHS_REMOVED
    assert kept[("news", "first")].text == docs[0].text
    assert kept[("news", "short-line-2")].text.endswith("短行")  # under paragraph_min_chars
    assert report["sources"]["news"]["paragraphs_removed"] == 1  # from documents that stay
    assert report["sources"]["news"]["removed"] == {"duplicate_paragraphs": 1}


def test_documents_not_compared_pass_through(tmp_path: Path, articles: list[str]) -> None:
    docs = [
        Document("p1", "news", "。。。！！！"),
        Document("p2", "news", "……——"),
        Document("e1", "ebooks", articles[0]),
        Document("e2", "ebooks", articles[0]),
    ]
    kept, removed, report = run_dedup(tmp_path, docs, _config({"news": ["dedup"], "ebooks": []}))
    assert not removed and len(kept) == 4
    assert report["sources"]["news"]["docs_not_compared"] == 2 and "ebooks" not in report["sources"]


def test_node_keys_sort_in_survivor_order() -> None:
    keys = [
        node_key(1, 100, "web", "a"),
        node_key(0, 50, "news", "z"),
        node_key(0, 60, "news", "z"),
        node_key(0, 60, "news", "b"),
    ]
    assert [node_parts(key) for key in sorted(keys)] == [("news", "b"), ("news", "z"), ("news", "z"), ("web", "a")]
    assert sorted(keys)[1] == node_key(0, 60, "news", "z")


def test_exact_copies_of_a_near_duplicate_point_at_the_kept_survivor(tmp_path: Path, articles: list[str]) -> None:
    """t (priority) ~ s near; s2 is an exact copy of s. s2's survivor is t, not s."""
    text = articles[0]
    near = edited(text, 60)
    docs = [Document("t", "news", text), Document("s", "web", near), Document("s2", "web", near + "。")]
    kept, removed, report = run_dedup(tmp_path, docs, _config(TWO, priority=("news",)))
    assert set(kept) == {("news", "t")}
    copy = removed[("web", "s2")].removal
    assert copy.reason is Reason.EXACT_DUPLICATE
    assert copy.detail.endswith("exact copy of web/s, a near duplicate; survivor news/t")
    assert removed[("web", "s")].removal.detail.endswith("survivor news/t")
    assert report["lost_to"] == {"web": {"news": 2}}


def test_annotate_mode_leaves_paragraphs_in_place(tmp_path: Path, articles: list[str]) -> None:
    footer = "本页面中文版由中文手册页计划提供，欢迎转载并注明出处。"
    docs = [Document("x", "news", articles[0] + "\n" + footer), Document("y", "news", articles[1] + "\n" + footer)]
    kept, removed, _ = run_dedup(tmp_path, docs, _config({"news": ["dedup"]}, paragraphs=True, mode="annotate"))
    assert not removed
    loser = next(doc for doc in kept.values() if doc.verdicts)
    assert loser.text == next(d.text for d in docs if d.doc_id == loser.doc_id)
    (verdict,) = loser.verdicts
    assert verdict.reason is Reason.CROSS_DOCUMENT_PARAGRAPHS_REMOVED and not verdict.enforced


def test_a_document_that_fails_is_an_error_and_never_a_survivor(
    tmp_path: Path, articles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import filters.dedup

    real = filters.dedup.paragraph_hashes

    def explode_on_x(text: str, min_chars: int) -> tuple[tuple[int, bytes], ...]:
        if text.startswith("X"):
            raise ValueError("cannot hash this")
        return real(text, min_chars)

    monkeypatch.setattr(filters.dedup, "paragraph_hashes", explode_on_x)
    docs = [Document("x", "news", "X" + articles[0]), Document("y", "web", "x" + articles[0])]  # equal when normalised
    kept, removed, report = run_dedup(tmp_path, docs, _config(TWO, priority=("news",), paragraphs=True))
    assert set(kept) == {("web", "y")}
    assert removed[("news", "x")].removal.reason is Reason.STAGE_EXCEPTION
    assert "cannot hash this" in removed[("news", "x")].removal.detail
    assert report["sources"]["news"]["docs_failed"] == 1


def _group_doc(index: int, articles: tuple[str, ...]) -> Document:
    """Group g: t (news) ~ s (web) near; s2, s3 exact copies of s; u, u2 exact; v, v2
    exact and w a shorter near copy of v."""
    group, member = divmod(index, 9)
    t, u, v = articles[3 * group], articles[3 * group + 1], articles[3 * group + 2]
    return [
        Document(f"g{group}-t", "news", edited(t, 200)),
        Document(f"g{group}-s", "web", t),
        Document(f"g{group}-s2", "web", t + "。"),
        Document(f"g{group}-s3", "web", t + "！"),
        Document(f"g{group}-u", "web", u),
        Document(f"g{group}-u2", "web", u + "。"),
        Document(f"g{group}-v", "web", v),
        Document(f"g{group}-v2", "web", v + "。"),
        Document(f"g{group}-w", "web", edited(v, 200)[:-3]),
    ][member]


@pytest.mark.parametrize(("partitions", "max_edges"), [(1024, 1_000_000), (3, 0)])
def test_many_groups_over_several_bundles(tmp_path: Path, articles: list[str], partitions: int, max_edges: int) -> None:
    """20 groups read in several bundles on 2 threads, with few band partitions and, in the
    second case, the propagation path: every verdict names the survivor actually kept."""
    from apache_beam.options.pipeline_options import PipelineOptions

    groups = 20
    make = partial(_group_doc, articles=tuple(articles[: 3 * groups]))
    config = _config(TWO, priority=("news",), band_partitions=partitions, union_find_max_edges=max_edges)
    options = PipelineOptions(["--direct_num_workers=2", "--direct_running_mode=multi_threading"])
    with BeamPipeline(options=options) as pipeline:
        docs = pipeline | beam.Create(range(groups * 9)) | beam.Reshuffle() | "Make" >> beam.Map(make)
        kept, removed, report = docs | Deduplicate(DedupPlan.for_run(config), str(tmp_path / "work"))
        kept, removed = kept | "Kept" >> beam.Flatten(), removed | "Removed" >> beam.Flatten()
        for name, collection in (("kept", kept), ("removed", removed), ("report", report)):
            _ = collection | f"List/{name}" >> beam.combiners.ToList() | f"Save/{name}" >> beam.Map(_save, str(tmp_path / name))
    kept_docs, removed_docs, (report_content,) = (
        pickle.loads((tmp_path / name).read_bytes()) for name in ("kept", "removed", "report")
    )
    assert sorted(doc.doc_id for doc in kept_docs) == sorted(f"g{g}-{m}" for g in range(groups) for m in ("t", "u", "v"))
    details = {doc.doc_id: doc.removal.detail for doc in removed_docs}
    assert len(details) == len(removed_docs) == groups * 6
    for g in range(groups):
        assert details[f"g{g}-s"].endswith(f"survivor news/g{g}-t")
        for copy in ("s2", "s3"):
            assert details[f"g{g}-{copy}"].endswith(f"exact copy of web/g{g}-s, a near duplicate; survivor news/g{g}-t")
        assert details[f"g{g}-u2"].endswith(f"; survivor web/g{g}-u") and "exact copy" not in details[f"g{g}-u2"]
        assert details[f"g{g}-v2"].endswith(f"; survivor web/g{g}-v") and "exact copy" not in details[f"g{g}-v2"]
        assert details[f"g{g}-w"].endswith(f"survivor web/g{g}-v")
    assert report_content["sources"]["web"]["docs_seen"] == groups * 8
    assert report_content["lost_to"] == {"web": {"news": groups * 3, "web": groups * 3}}
    assert report_content["verify"]["candidate_pairs"] == groups * 2


@pytest.mark.parametrize("paragraphs", [False, True])
def test_verdicts_are_the_same_over_many_pieces_and_ranges(
    tmp_path: Path, articles: list[str], monkeypatch: pytest.MonkeyPatch, paragraphs: bool
) -> None:
    """The compared documents wait on disk in pieces and get their verdicts per stretch of
    the node-hash range: many small pieces and many stretches (some with no document, some
    with no decision) give exactly the outcome of one piece and one stretch."""
    from corpus import writers
    from filters import dedup

    footer = "本页面中文版由中文手册页计划提供，欢迎转载并注明出处。"
    docs = [
        *(Document(f"n{i}", "news", text + "\n" + footer) for i, text in enumerate(articles[:30])),
        *(Document(f"e{i}", "web", edited(text, 40)) for i, text in enumerate(articles[:12])),
        *(Document(f"x{i}", "web", text) for i, text in enumerate(articles[10:20])),
    ]
    config = _config(TWO, paragraphs=paragraphs)
    (tmp_path / "whole").mkdir()
    (tmp_path / "cut").mkdir()
    whole = run_dedup(tmp_path / "whole", docs, config)
    monkeypatch.setattr(writers, "PIECE_BYTES", 3_000)  # a piece every few documents
    monkeypatch.setattr(dedup, "APPLY_RANGE_BYTES", 2_000)  # more stretches than documents
    cut = run_dedup(tmp_path / "cut", docs, config)
    assert len(list((tmp_path / "cut" / "work").iterdir())) > 2 * 10  # pieces and their indexes
    assert whole[0] == cut[0] and whole[1] == cut[1] and whole[2] == cut[2]
    assert len(whole[1]) >= 10 and len(whole[0]) >= 30  # removed (the copies of n10-n19) and kept both
