"""The spam and quality stages: a fastText model scores every document.

PanGu filtered its corpus with a fastText spam classifier and a GPT-3 style quality
classifier. Each stage here loads one model (``zhcorpus classifier train`` makes them;
``filters/classifier.py`` holds the preprocessing, which is the training's own) once per
worker, scores each document and stores the score in a verdict:

- spam: the score is P(spam); at ``score >= threshold`` the document is rejected
  (``spam``), otherwise it is kept with a ``spam_score`` verdict;
- quality: the score is P(high quality); at ``score < threshold`` it is rejected
  (``low_quality``), otherwise kept with a ``quality_score`` verdict.

A document longer than ``window_chars`` is also scored in windows cut at line ends and the
worst score counts (see ``Scorer``). In annotate mode the would-be rejections are recorded
(not enforced) and nothing is removed. The threshold's source is the model's own
evaluation: its threshold table (MODEL.eval.txt) on held-out data. A document without any
words gets the worst score (P(spam) 1, P(high) 0) and says so in its verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.config import ModelStageConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters.classifier import ClassifierError, Scorer, read_info

_REASONS = {"spam": (Reason.SPAM, Reason.SPAM_SCORE), "quality": (Reason.LOW_QUALITY, Reason.QUALITY_SCORE)}


@dataclass(frozen=True)
class ModelStagePlan:
    stage: str
    """``spam`` or ``quality``: which stage, so which kind of model it must be."""
    config: ModelStageConfig


def check_model(plan: ModelStagePlan) -> None:
    """The model file is the one its MODEL.json describes (size and SHA-256) and of the
    stage's kind, or ClassifierError says why; cheap enough for start-up."""
    _kind_matches(plan, read_info(plan.config.model).kind)


def _kind_matches(plan: ModelStagePlan, kind: str) -> None:
    if kind != plan.stage:
        raise ClassifierError(f"{plan.config.model} is a {kind} model; the {plan.stage} stage needs a {plan.stage} model")


class ModelJudge:
    """The stage's judge: score, verdict, reject or keep."""

    def __init__(self, plan: ModelStagePlan) -> None:
        self._stage = plan.stage
        self._config = plan.config
        self._scorer = Scorer(plan.config.model, plan.config.window_chars)  # the model, loaded once
        _kind_matches(plan, self._scorer.info.kind)
        self._reject, self._keep = _REASONS[plan.stage]

    def judge(self, doc: Document) -> Document:
        lines = self._scorer.lines(doc.text)
        score = self._scorer.score_lines(lines)
        label = self._scorer.info.score_label
        if self._scorer.rejects(score, self._config.threshold):
            enforced = self._config.mode == "enforce"
            comparison = ">=" if self._stage == "spam" else "<"
            detail = f"P({label}) {score:.4f} {comparison} {self._config.threshold}"
            if not lines:
                detail = f"no words to score: {detail}"
            return doc.with_verdict(Verdict(self._stage, self._reject, round(score, 6), detail, enforced))
        return doc.with_verdict(Verdict(self._stage, self._keep, round(score, 6), f"P({label}) {score:.4f}"))
