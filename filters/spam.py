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
evaluation: its threshold table (MODEL.eval.txt) on held-out data.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.config import ModelStageConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters.classifier import ClassifierError, Scorer, load

_REASONS = {"spam": (Reason.SPAM, Reason.SPAM_SCORE), "quality": (Reason.LOW_QUALITY, Reason.QUALITY_SCORE)}


@dataclass(frozen=True)
class ModelStagePlan:
    stage: str
    """``spam`` or ``quality``: which stage, so which kind of model it must be."""
    config: ModelStageConfig


def check_model(plan: ModelStagePlan) -> None:
    """The model loads and is of the stage's kind, or ClassifierError says why."""
    _, info = load(plan.config.model)
    if info.kind != plan.stage:
        raise ClassifierError(f"{plan.config.model} is a {info.kind} model; the {plan.stage} stage needs a {plan.stage} model")


class ModelJudge:
    """The stage's judge: score, verdict, reject or keep."""

    def __init__(self, plan: ModelStagePlan) -> None:
        check_model(plan)
        self._stage = plan.stage
        self._config = plan.config
        self._scorer = Scorer(plan.config.model, plan.config.window_chars)
        self._reject, self._keep = _REASONS[plan.stage]

    def judge(self, doc: Document) -> Document:
        score = self._scorer.score(doc.text)
        label = self._scorer.info.score_label
        if self._scorer.rejects(score, self._config.threshold):
            enforced = self._config.mode == "enforce"
            comparison = ">=" if self._stage == "spam" else "<"
            detail = f"P({label}) {score:.4f} {comparison} {self._config.threshold}"
            return doc.with_verdict(Verdict(self._stage, self._reject, round(score, 6), detail, enforced))
        return doc.with_verdict(Verdict(self._stage, self._keep, round(score, 6), f"P({label}) {score:.4f}"))
