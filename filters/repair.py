"""The repair stage: what every document gets, whatever its source's stages.

Terminal colour codes in e-books, invisible characters, mojibake and traditional script do
not depend on how a source is judged: a source of e-books that goes only through the
sensitive and spam stages needs them as much as a web crawl does. So the repairs run first
on every document, in this order, each counted as a verdict of the ``repair`` stage:

1. mojibake (filters/mojibake.py): UTF-8 read as GBK or as Latin-1 undone, lines of
   replacement characters dropped; a text that stays garbled is rejected (``garbled``);
2. Unicode (``clean_text.fix_unicode``): terminal escape sequences, control, zero-width,
   bidirectional and private-use characters out, full-width letters and digits to ASCII,
   white space normalised;
3. traditional to simplified script (PanGu rule 4) with OpenCC, when at least
   ``min_traditional_share`` of the Chinese characters are traditional-only (simplified
   text is never touched); until nothing changes, since OpenCC's tables chain for a few
   characters (t2s: 薴 -> 苧 -> 苎), so repairing a repaired text changes nothing. The page
   title in the metadata is converted with it.

Settings: ``stages.repair`` (corpus/config.py); a source switches a repair off by name in
``rules_off`` (``mojibake``, ``unicode``, ``convert``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.config import RepairConfig, SourceConfig
from corpus.html import HTML_LINKS, HTML_ZONES
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters import clean_text, mojibake

STAGE = "repair"
_OPENCC_CONFIGS = {"t2s": "t2s", "tw2sp": "tw2sp", "hk2s": "hk2s"}


@dataclass(frozen=True)
class RepairPlan:
    config: RepairConfig
    rules_off: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def for_sources(cls, config: RepairConfig, sources: tuple[SourceConfig, ...]) -> RepairPlan:
        return cls(config=config, rules_off={s.name: frozenset(s.rules_off) for s in sources})


class Repairs:
    """The repair stage's judge."""

    def __init__(self, plan: RepairPlan) -> None:
        import opencc

        self._plan = plan
        self._config = plan.config
        self._table = clean_text.stage_table()
        self._converter = opencc.OpenCC(_OPENCC_CONFIGS[plan.config.convert]) if plan.config.convert != "none" else None

    def judge(self, doc: Document) -> Document:
        config = self._config
        off = self._plan.rules_off.get(doc.source, frozenset())
        text = doc.text
        verdicts: list[Verdict] = []
        meta_changed = False  # the text changed without a verdict (white space)
        facts: clean_text.Facts | None = None
        if config.mojibake and "mojibake" not in off:
            facts = clean_text.scan(text, self._table)
            result = mojibake.repair(text, self._table, facts)
            if result.text is not text:
                text, facts = result.text, None
            if result.repaired_lines or result.dropped_lines or result.damaged_lines:
                fixed = (
                    (result.repaired_lines, "re-decoded"),
                    (result.dropped_lines, "of replacement characters dropped"),
                    (result.damaged_lines, "damaged dropped"),
                )
                detail = ", ".join(f"{count} lines {what}" for count, what in fixed if count)
                verdicts.append(Verdict(STAGE, Reason.MOJIBAKE_REPAIRED, float(sum(count for count, _ in fixed)), detail))
            if result.garbled:
                verdicts.append(Verdict(STAGE, Reason.GARBLED, None, result.garbled, config.mode == "enforce"))
        if config.unicode and "unicode" not in off:
            repaired, counts = clean_text.fix_unicode(text, self._table)
            if repaired != text:  # white space alone is normalised without a verdict
                text, facts = repaired, None
                meta_changed = True
            if counts:
                detail = ", ".join(f"{kind} {count}" for kind, count in counts.items())
                verdicts.append(Verdict(STAGE, Reason.UNICODE_REPAIRED, float(sum(counts.values())), detail))
        meta: dict[str, Any] = dict(doc.meta)
        if self._converter is not None and "convert" not in off:
            facts = facts or clean_text.scan(text, self._table)
            share = facts.traditional_share
            if share >= config.min_traditional_share and facts.traditional:
                text = self._to_fixpoint(text)
                if isinstance(meta.get("title"), str) and meta["title"]:
                    meta["title"] = self._to_fixpoint(meta["title"])
                detail = f"{config.convert}: traditional share {share:.3f}"
                verdicts.append(Verdict(STAGE, Reason.CONVERTED_TO_SIMPLIFIED, round(share, 6), detail))
        if not verdicts and not meta_changed:
            return doc
        if HTML_ZONES in meta and text.count("\n") != doc.text.count("\n"):
            _realign_hints(meta, doc.text, text, self._table)
        return Document(doc.doc_id, doc.source, text, tuple(sorted(meta.items())), (*doc.verdicts, *verdicts))

    def _to_fixpoint(self, text: str) -> str:
        assert self._converter is not None
        for _ in range(4):
            converted = self._converter.convert(text)
            if converted == text:
                break
            text = converted
            if not clean_text.scan(text, self._table).traditional:
                break
        return text


def _realign_hints(meta: dict[str, Any], before: str, after: str, table: bytes) -> None:
    """A page's line hints (corpus/html.py) for the lines the repairs kept: lines of
    replacement characters are dropped and lines the Unicode repair leaves empty go with
    the white space. The hints are dropped when that does not give the repaired line count
    (the clean stage then judges the page by its text alone)."""
    zones, links = meta.get(HTML_ZONES), meta.get(HTML_LINKS)
    lines = before.split("\n")
    if not (isinstance(zones, str) and isinstance(links, str) and len(zones) == len(links) == len(lines)):
        meta.pop(HTML_ZONES, None)
        meta.pop(HTML_LINKS, None)
        return
    kept = [
        index
        for index, line in enumerate(lines)
        if line.strip(" \t\ufffd") and not mojibake.dropped(line) and clean_text.fix_unicode(line, table)[0].strip()
    ]
    if len(kept) != after.count("\n") + 1:
        meta.pop(HTML_ZONES, None)
        meta.pop(HTML_LINKS, None)
        return
    meta[HTML_ZONES] = "".join(zones[index] for index in kept)
    meta[HTML_LINKS] = "".join(links[index] for index in kept)
