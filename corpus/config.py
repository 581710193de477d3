"""The run's YAML config, loaded once into frozen dataclasses and validated at start-up.

Every setting has a documented default here, next to where its value came from. After
``load_config`` returns, no code reads a dict key: a typo in the YAML is an unknown key
with a clear message (and exit code 2 from the CLI), never a silently ignored setting.

Validation is done by pydantic's dataclasses (``extra="forbid"``, strict scalar types,
ranges as ``Field`` bounds): a well-kept validator names the exact key path of every
problem at once, which hand-written checks rarely manage.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from corpus.globbing import glob_files, unique_files
from corpus.streams import is_remote

STAGE_ORDER: tuple[str, ...] = ("repair", "clean", "sensitive", "spam", "quality", "dedup")
"""The pipeline's stage order (PanGu's Figure 2). A source lists the stages it wants
(PanGu's Table 3); they always run in this order, with dedup across all sources last.
``repair`` runs on every source, listed or not."""
ALWAYS = ("repair",)
"""Stages every source goes through."""

StageName = Literal["repair", "clean", "sensitive", "spam", "quality", "dedup"]
SourceFormat = Literal["jsonl", "json", "csv", "tsv", "lines", "parquet", "text", "warc", "html"]
Mode = Literal["enforce", "annotate"]
MIN_SHARD_BYTES = 100_000
"""Output files of at least 100 kB: a run writes at most its size / 100 kB files per
folder (``shard_bytes: 1`` once wrote 249,505 files for 70 documents)."""
MIN_SPLIT_BYTES = 4096
MAX_EPOCHS = 1000.0
"""No source is repeated more often in the shards (a typo in epochs or shards.tokens must
not fill the disk)."""
Ratio = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
PositiveInt = Annotated[StrictInt, Field(ge=1)]

CleanRule = Literal[
    "mojibake",
    "unicode",
    "symbols",
    "convert",
    "navigation",
    "boilerplate",
    "pii",
    "duplicate_paragraphs",
    "title_only",
    "min_chars",
    "chinese_ratio",
    "ads",
    "repetition",
]
"""The repair and clean stages' rules, each of which a source can switch off (``rules_off``)."""

_STRICT = ConfigDict(extra="forbid", frozen=True)
_READER_META = frozenset({"path", "line", "row", "item", "offset", "byte", "in_bytes", "encoding", "url", "title", "http_status"})


def repeated(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names that occur more than once, sorted."""
    return sorted({name for name in names if names.count(name) > 1})


class ConfigError(Exception):
    """A config or rule file problem, found before any work starts (CLI exit code 2)."""


@dataclass(config=_STRICT)
class WhereRule:
    """Keep a record only if its field meets this (corpus/compose.py); others are
    rejected as filtered_out, so they still show in the accounting."""

    field: StrictStr
    present: StrictBool | None = None
    equals: StrictStr | None = None
    """Compared with the field's value as JSON spells it (true, null, 3); a list matches
    when any element does."""
    not_equals: StrictStr | None = None

    @model_validator(mode="after")
    def _checks_something(self) -> WhereRule:
        from corpus.compose import parse_path

        parse_path(self.field)
        if self.present is None and self.equals is None and self.not_equals is None:
            raise ValueError(f"where on '{self.field}' needs present, equals or not_equals")
        return self


@dataclass(config=_STRICT)
class Replacement:
    """A regex replacement applied to a source's text as it is read."""

    pattern: StrictStr
    replace: StrictStr = ""

    @model_validator(mode="after")
    def _compiles(self) -> Replacement:
        import re

        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {self.pattern!r}: {exc}") from None
        try:
            compiled.sub(self.replace, "")  # the replacement template is parsed here
        except (re.error, IndexError) as exc:
            raise ValueError(f"bad replacement {self.replace!r} for {self.pattern!r}: {exc}") from None
        return self


@dataclass(config=_STRICT)
class SourceConfig:
    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    """Unique; names the output folders (``kept/<name>/``)."""
    paths: Annotated[tuple[StrictStr, ...], Field(min_length=1)]
    """Globs (``**`` recurses), relative to the config file's folder; each must match."""
    format: SourceFormat
    text_field: StrictStr = "text"
    """jsonl/parquet: the field holding the document text."""
    id_field: StrictStr | None = "id"
    """jsonl/parquet: the field holding the id; absent values get a stable id from the
    file's path (relative to the source's folder) and the line or row number."""
    encoding: StrictStr = "auto"
    """``auto`` detects UTF-8, UTF-16 (BOM), GB18030/GBK and Big5 per file."""
    stages: tuple[StageName, ...] = ()
    """PanGu's Table 3: which stages this source goes through (in the pipeline's order; the
    repair stage runs on every source). Empty: read, repair, account, write."""
    weight: Annotated[StrictFloat, Field(ge=0.0, allow_inf_nan=False)] | None = None
    """Share of the training mix (PanGu's Table 4), with ``shards.tokens`` as the total;
    0 leaves the source out of the shards."""
    epochs: Annotated[StrictFloat, Field(ge=0.0, le=MAX_EPOCHS)] | None = None
    """Instead of a weight: how many times the source's kept tokens go into the shards
    (2.0 repeats every document twice, 0.5 takes half of the tokens)."""
    rules_off: tuple[CleanRule, ...] = ()
    """Rules of its stages this source skips, e.g. ``[title_only, navigation]``."""
    quality_label: Literal["high", "low"] | None = None
    """Weak labels for ``zhcorpus classifier label``: the kept documents of a ``high`` source
    are positives, of a ``low`` source negatives."""
    # --- format conversion (corpus/compose.py): jsonl, json, csv, tsv, lines, parquet ---
    text_template: StrictStr | None = None
    """Compose the text from fields: ``"问：{question}\n答：{answer}"``, nested paths like
    ``{documents[*].paragraphs[*]}``; without it the text is ``text_field``."""
    id_template: StrictStr | None = None
    """Compose the id from fields, e.g. ``"{qid}"``."""
    meta_fields: tuple[StrictStr, ...] = ()
    """Field paths kept as metadata."""
    join_separator: StrictStr = "\n"
    """Joins the items of a list field in a template."""
    where: tuple[WhereRule, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    fold_fullwidth_digits: StrictBool = False
    strip_markup: StrictBool = False
    """Remove HTML/XML tags and unescape entities."""
    header: StrictBool = True
    """csv/tsv: the first row names the columns."""
    columns: tuple[StrictStr, ...] = ()
    """csv/tsv without a header: the column names."""
    label: Literal["prefix", "suffix"] | None = None
    """lines: each line carries a label before (prefix) or after (suffix) label_separator;
    it is kept as the metadata field ``label``."""
    label_separator: Annotated[StrictStr, Field(min_length=1)] = "\t"

    @field_validator("text_template", "id_template")
    @classmethod
    def _template_parses(cls, template: str | None) -> str | None:
        if template is not None:
            from corpus.compose import template_fields

            template_fields(template)
        return template

    @model_validator(mode="after")
    def _format_settings(self) -> SourceConfig:
        if self.format in ("csv", "tsv") and not self.header and not self.columns:
            raise ValueError(f"{self.format} without a header needs 'columns'")
        if self.label is not None and self.format != "lines":
            raise ValueError("'label' is for format lines")
        from corpus.compose import parse_path

        for path in self.meta_fields:
            parse_path(path)
        reserved = sorted(set(self.meta_fields) & _READER_META)
        if reserved:
            raise ValueError(
                f"meta_fields {', '.join(reserved)}: names the reader sets itself; rename them in a template instead"
            )
        templated = self.text_template or self.id_template or self.meta_fields or self.where
        if templated and self.format in ("text", "warc", "html", "lines"):
            raise ValueError(f"templates, meta_fields and where need records with fields, not format {self.format}")
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        import codecs

        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValueError(f"unknown encoding {encoding!r} (use auto, utf-8, gb18030, big5, utf-16 ...)") from None
        return encoding

    @field_validator("stages")
    @classmethod
    def _stages_unique(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        twice = repeated(stages)
        if twice:
            raise ValueError(f"stage listed twice: {', '.join(twice)}")
        # Shown in the pipeline's order with the stages every source goes through, so that
        # ``validate`` and the reports list what really runs.
        return tuple(stage for stage in STAGE_ORDER if stage in stages or stage in ALWAYS)


@dataclass(config=_STRICT)
class RepairConfig:
    """The repair stage, on every source (filters/repair.py)."""

    mode: Mode = "enforce"
    """``annotate``: a garbled text is marked, not removed."""
    mojibake: StrictBool = True
    """UTF-8 read as GBK or Latin-1 undone; text that stays garbled is rejected."""
    unicode: StrictBool = True
    """Terminal escape sequences, control, zero-width, private-use characters out;
    full-width letters and digits to half-width; white space normalised."""
    convert: Literal["t2s", "tw2sp", "hk2s", "none"] = "t2s"
    """OpenCC conversion to simplified Chinese (PanGu rule 4); tw2sp also converts Taiwan
    phrasing (伺服器 -> 服务器), hk2s Hong Kong variants."""
    min_traditional_share: Ratio = 0.05
    """Convert only text whose Chinese characters are at least this share traditional-only.
    Measured on the sample: People's Daily and 三国演义 at most 0.014, zh_TW man pages
    median 0.34; so simplified text is never touched."""


@dataclass(config=_STRICT)
class CleanConfig:
    """The clean stage: PanGu's cleaning rules and more (filters/clean.py)."""

    mode: Mode = "enforce"
    """``annotate`` records every rejection as a verdict without removing anything."""
    # --- repairs ---
    symbols: StrictBool = True
    """Runs of decorative symbols, repeated punctuation and separator lines out."""
    navigation_formats: tuple[SourceFormat, ...] = ("warc", "html")
    """Sources of these formats are web pages: navigation lines are removed from them."""
    navigation_rules: StrictStr | None = None
    """Rule file of navigation terms and footer patterns; default filters/rules/navigation.txt."""
    boilerplate_rules: StrictStr | None = None
    """Rule file of boilerplate lines of any source (troff leftovers, translators' credits,
    e-book site markers); default filters/rules/boilerplate.txt."""
    navigation_max_chars: PositiveInt = 20
    """A line this short (non-space characters) made mostly of navigation terms is removed."""
    pii: StrictBool = False
    """Mask e-mail addresses, URLs, mainland ID card and phone numbers with placeholders."""
    duplicate_paragraph_min_chars: PositiveInt = 200
    """PanGu rule 2: later copies of a line this long or longer (a paragraph) are removed.
    Shorter lines that recur in a document are mostly its own text (默认值为 TRUE。 under two
    properties, an interviewer's question, a line of code): on the gold set, of the later
    copies of lines of 10+ characters 405 are content and 427 junk (the junk mostly taken
    by the navigation and boilerplate steps first), of lines of 150+ 14 and 2."""
    # --- rejections ---
    title_max_chars: NonNegativeInt = 30
    """A document that is one line this short, or equal to its page title, is title-only."""
    min_chars: NonNegativeInt = 60
    """PanGu rule 1 removes documents with fewer than 150 characters; a help page of a
    heading and two explanatory sentences (80-150 characters) is worth keeping. 60: on the
    gold set's tune split one kept document below (49 characters) and no page labelled
    too_short above but those whose text is a list of links (counted after repairs and junk
    removal, white space not counted)."""
    min_chinese_ratio: Ratio = 0.4
    """PanGu rule 1 removes documents with less than 60% Chinese characters; a Chinese
    technical page full of commands, paths and code falls under that. Here the share is of
    what the text is written in (``chinese_measure``): Chinese characters and punctuation
    against foreign prose, kana and hangul (filters/clean_text.py ``language_share``). 0.4:
    on the gold set's tune split the fewest wrong decisions (1 of 313 kept documents below,
    2 of 34 labelled not_chinese above)."""
    chinese_measure: Literal["language", "characters"] = "language"
    """``characters``: PanGu's own measure, Chinese characters over all characters."""
    ad_rules: StrictStr | None = None
    """Rule file of advertisement keywords (PanGu rule 3); default filters/rules/ads.txt."""
    max_ad_hits: NonNegativeInt = 1
    """Reject at more than this many distinct ad keywords. One hit is allowed: a news
    report quoting a hotline or a product review naming a discount is not an advert."""
    max_duplicate_line_share: Ratio = 0.5
    """Gopher-style: share of characters in later copies of lines of 10 or more characters,
    measured on the text the other rules leave (judged before their repairs, a page whose
    repeats had already gone was rejected). Gopher used 0.3 on English web text; the gold
    set's kept documents reach 0.45 (LibreOffice function references repeat a line under
    each function)."""
    max_top_ngram_share: Ratio = 0.3
    """Gopher-style: share of characters covered by the most frequent character n-gram.
    Sample (4,609 real documents, n=3): median 0.038, p99.9 0.17, max 0.26."""
    top_ngram_chars: Annotated[StrictInt, Field(ge=1, le=3)] = 3
    max_repeated_ngram_share: Ratio = 0.75
    """Share of the character n-grams (``repeated_ngram_chars``) that repeat an earlier one:
    a unit of any length repeated k times scores about (k - 1) / k. Sample (19,000 kept
    documents of 100+ characters): p99.9 0.58, highest real text 0.64 (box-drawn tables in
    debian-reference); above 0.85 only reviews that repeat one sentence."""
    repeated_ngram_chars: Annotated[StrictInt, Field(ge=2, le=64)] = 10


@dataclass(config=_STRICT)
class SensitiveCategory:
    """One rule file of terms (filters/sensitive.py)."""

    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    rules: StrictStr
    """The rule file: UTF-8, one term per line, # comments."""
    max_hits: NonNegativeInt = 3
    """PanGu: a document holding more than three sensitive words is removed (reject at 4)."""
    count: Literal["distinct", "occurrences"] = "distinct"
    """What a hit is: a distinct term (PanGu's reading), or every occurrence."""
    allow: StrictStr | None = None
    """Allow-list file: longer harmless terms containing a listed one; hits inside them do
    not count."""


@dataclass(config=_STRICT)
class SensitiveConfig:
    mode: Mode = "enforce"
    categories: tuple[SensitiveCategory, ...] = ()
    """Empty: the example lists shipped in filters/rules/sensitive/ (gambling, porn, fraud)."""

    @model_validator(mode="after")
    def _names_unique(self) -> SensitiveConfig:
        twice = repeated([category.name for category in self.categories])
        if twice:
            raise ValueError(f"category name used twice: {', '.join(twice)}")
        return self


@dataclass(config=_STRICT)
class DedupConfig:
    """Exact and near-duplicate removal across all sources that list ``dedup`` (filters/dedup.py)."""

    mode: Mode = "enforce"
    exact: StrictBool = True
    """Remove documents whose normalised text (letters and digits only) equals another's."""
    near: StrictBool = True
    """Remove near-duplicates found by MinHash LSH."""
    ngram: Annotated[StrictInt, Field(ge=1, le=32)] = 5
    """Character n-grams of the normalised text. 5 is the common choice for Chinese."""
    num_perm: Annotated[StrictInt, Field(ge=2, le=1024)] = 128
    threshold: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] = 0.8
    """Jaccard similarity of the n-gram sets at which two documents are duplicates."""
    false_negative_weight: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] = 0.9
    """How bands and rows are chosen: the weight of missed pairs against spurious candidates
    (1 - this). At 0.5 (datasketch's default) 128 permutations give 9 x 13 and find only 69%
    of pairs at Jaccard 0.85; at 0.9, 14 x 9 finds 97.5%, and ``verify`` removes the extra
    candidates below the threshold."""
    bands: PositiveInt | None = None
    """Set bands and rows yourself (both, bands * rows <= num_perm) instead of deriving them."""
    rows: PositiveInt | None = None
    seed: StrictInt = 1
    """Seed of the MinHash permutations (datasketch's default is 1)."""
    verify: StrictBool = True
    """Keep an LSH candidate pair only when the exact Jaccard of the n-gram sets reaches the
    threshold (removes LSH false positives; costs one more pass over the candidates' text)."""
    priority: tuple[StrictStr, ...] = ()
    """Source names, best first: the survivor of a cluster is from the first listed source,
    then the longest document, then the smallest source name and id. Unlisted sources rank
    equal, after the listed ones."""
    paragraphs: StrictBool = False
    """Also remove paragraphs (lines) that occur in another surviving document, e.g. shared
    boilerplate; a document that loses every paragraph of paragraph_min_chars or more is
    rejected (what is left is headings and short lines)."""
    paragraph_min_chars: PositiveInt = 20
    """Lines shorter than this (normalised characters) are never treated as duplicates."""
    band_partitions: Annotated[StrictInt, Field(ge=1, le=1 << 20)] = 1024
    """Band keys are grouped in this many partitions per band; each partition's buckets are
    formed in one worker's memory (about 100 bytes per entry). Raise it when documents x
    bands / (bands x partitions) passes a few million."""
    rounds: Annotated[StrictInt, Field(ge=0, le=64)] = 4
    """Rounds of min-label propagation when the candidate graph is too large for one worker;
    what is still unsettled after them is merged by union-find (usually very little)."""
    union_find_max_edges: NonNegativeInt = 1_000_000
    """Graphs with at most this many edges are clustered by union-find in one worker (about
    200 bytes per edge); larger ones by propagation across workers."""

    @model_validator(mode="after")
    def _bands_and_rows(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} is more than num_perm = {self.num_perm}")
        if not (self.exact or self.near):
            raise ValueError("exact and near are both off: remove dedup from the sources' stages instead")
        twice = repeated(self.priority)
        if twice:
            raise ValueError(f"source named twice in priority: {', '.join(twice)}")
        return self


@dataclass(config=_STRICT)
class ModelStageConfig:
    """The spam or the quality stage: one fastText model (``zhcorpus classifier train``)."""

    model: StrictStr
    """The model file, relative to the config file's folder; MODEL.json beside it says how
    it preprocesses (words or characters)."""
    mode: Mode = "enforce"
    threshold: Ratio = 0.5
    """spam: reject when P(spam) >= threshold; quality: reject when P(high) < threshold.
    Pick it from the threshold table of the model's evaluation (MODEL.eval.txt)."""
    window_chars: Annotated[StrictInt, Field(ge=100)] = 2000
    """Longer documents are also scored in windows of about this many characters (cut at
    line ends) and the worst window counts: a spam paragraph cannot hide in a long text."""


@dataclass(config=_STRICT)
class StagesConfig:
    repair: RepairConfig = RepairConfig()
    clean: CleanConfig = CleanConfig()
    sensitive: SensitiveConfig = SensitiveConfig()
    spam: ModelStageConfig | None = None
    quality: ModelStageConfig | None = None
    dedup: DedupConfig = DedupConfig()


@dataclass(config=_STRICT)
class ReadConfig:
    max_doc_bytes: Annotated[StrictInt, Field(ge=1, le=1 << 31)] = 10_000_000
    """A document larger than this (UTF-8 bytes) becomes an error record, never a crash
    or an out-of-memory worker. PanGu's documents average about 1 KB."""
    html_main_content: StrictBool = False
    """WARC: keep only the main content (resiliparse's boilerplate removal). Off by default:
    the clean stage removes navigation itself, and counts what it removed."""
    split_bytes: NonNegativeInt = 16 * 1024 * 1024
    """A plain (uncompressed, local) JSONL or lines file of at least twice this is read in
    parts of about this size, cut at line ends, so that one large file is read by every
    worker; 0: each file whole. Ids and line numbers are those of the whole file."""

    @field_validator("split_bytes")
    @classmethod
    def _split_or_whole(cls, split_bytes: int) -> int:
        if 0 < split_bytes < MIN_SPLIT_BYTES:
            raise ValueError(f"split_bytes must be 0 (files whole) or at least {MIN_SPLIT_BYTES}")
        return split_bytes


@dataclass(config=_STRICT)
class OutputConfig:
    format: Literal["jsonl", "jsonl.gz", "parquet"] = "jsonl.gz"
    shard_bytes: Annotated[StrictInt, Field(ge=MIN_SHARD_BYTES, le=1 << 34)] = 128 * 1024 * 1024
    """Target size of one output file; the shard count of a folder is its total size
    divided by this, rounded up, so it depends on the data only."""


ShardFormat = Literal["parquet", "megatron"]
SegmentMethodName = Literal["fast", "jieba", "jieba-nohmm"]


@dataclass(config=_STRICT)
class ShardsConfig:
    """The training shards (sampling/): tokenizer, source mix, sequence packing."""

    tokenizer: StrictStr
    """A SentencePiece model in PanGu's scheme (``zhcorpus tokenizer train`` makes one),
    relative to the config file's folder."""
    segment: SegmentMethodName = "fast"
    """``fast``: identical to jieba's default mode, 5x faster (sampling/segment.py);
    ``jieba``: jieba itself; ``jieba-nohmm``: jieba with its HMM off (not PanGu's), fastest."""
    tokens: PositiveInt | None = None
    """Total tokens of the mix, needed when the sources give weights."""
    seq_length: Annotated[StrictInt, Field(ge=8, le=1 << 20)] = 1024
    """Each sequence holds seq_length + 1 tokens (the shifted target), as PanGu's 1025."""
    shard_tokens: Annotated[StrictInt, Field(ge=1, le=200_000_000)] = 100_000_000
    """Tokens per shard file (whole sequences; the last shard holds the rest). One worker
    assembles a shard in memory, about 8 bytes per token: at most 200M (1.6 GB)."""
    formats: Annotated[tuple[ShardFormat, ...], Field(min_length=1)] = ("parquet", "megatron")
    max_epochs: Annotated[StrictFloat, Field(gt=0.0, le=MAX_EPOCHS)] = 4.0
    """A source repeated more often than this gets a warning (CLI, stats/shards.json, the
    report): PanGu's most repeated source went in 3.65 times."""

    @model_validator(mode="after")
    def _a_shard_holds_a_sequence(self) -> ShardsConfig:
        if self.shard_tokens < self.seq_length + 1:
            raise ValueError(f"shard_tokens ({self.shard_tokens}) must hold at least one sequence of seq_length + 1 tokens")
        return self

    @field_validator("formats")
    @classmethod
    def _formats_unique(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        twice = repeated(formats)
        if twice:
            raise ValueError(f"format listed twice: {', '.join(twice)}")
        return formats


@dataclass(config=_STRICT)
class RunConfig:
    sources: Annotated[tuple[SourceConfig, ...], Field(min_length=1)]
    stages: StagesConfig = StagesConfig()
    read: ReadConfig = ReadConfig()
    output: OutputConfig = OutputConfig()
    shards: ShardsConfig | None = None
    """Without it a run ends with the kept documents; with it, also training shards."""
    seed: StrictInt = 0
    """Every random choice derives from this seed and document ids (stable hashes)."""
    max_error_share: Ratio = 0.5
    """A run in which errors (unreadable records, a stage that raised) pass this share of a
    source's documents fails (exit 1) and is not published: a regression that raises on
    every document must not pass for a run. 1.0 accepts anything."""

    @model_validator(mode="after")
    def _source_names_unique(self) -> RunConfig:
        twice = repeated([source.name for source in self.sources])
        if twice:
            raise ValueError(f"source name used twice: {', '.join(twice)}")
        weights = [source.weight for source in self.sources if source.weight is not None]
        if weights and sum(weights) == 0:
            raise ValueError("the sources' weights are all zero: the training mix would be empty")
        both = [source.name for source in self.sources if source.weight is not None and source.epochs is not None]
        if both:
            raise ValueError(f"sources {', '.join(both)}: give a weight or epochs, not both")
        if self.shards is not None:
            self._mix_is_one_kind(self.shards)
        names = {source.name for source in self.sources}
        unknown = [name for name in self.stages.dedup.priority if name not in names]
        if unknown:
            raise ValueError(f"stages.dedup.priority names unknown sources: {', '.join(unknown)}")
        return self

    def _mix_is_one_kind(self, shards: ShardsConfig) -> None:
        weighted = [source.name for source in self.sources if source.weight is not None]
        by_epochs = [source.name for source in self.sources if source.epochs is not None]
        if weighted and by_epochs:
            raise ValueError(
                f"the training mix is given by weights ({', '.join(weighted)}) and by epochs ({', '.join(by_epochs)}): "
                "use one kind for every source"
            )
        if not weighted and shards.tokens is not None:
            raise ValueError("shards.tokens is the total of a mix given by weights; no source gives a weight")
        if all(source.epochs == 0 for source in self.sources):  # a source without epochs goes in once
            raise ValueError("every source has epochs 0: the training mix would be empty")
        if weighted:
            unweighted = [source.name for source in self.sources if source.weight is None]
            if unweighted:
                raise ValueError(f"sources {', '.join(unweighted)} have no weight (give 0 to leave a source out)")
            if shards.tokens is None:
                raise ValueError("shards.tokens (the total of the mix) is needed when the sources give weights")

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


@dataclasses.dataclass(frozen=True)
class InputFile:
    path: str
    """Absolute path or URL, as opened."""
    rel: str
    """Relative to the source's root folder: machine-independent, used in generated ids."""
    start: int = 0
    """A part of the file (``corpus.readers.split_file``): its first byte, at a line start."""
    end: int | None = None
    """The byte after the part; None: the whole file."""
    first_line: int = 0
    """Lines before the part, so its lines keep their numbers in the whole file."""
    encoding: str | None = None
    """The whole file's encoding, sniffed from its start, for a part."""
    size: int | None = None
    """The file's size when it was split; a part whose file has changed since is not read
    (``corpus.readers.read_file``: the first part reads the file whole instead)."""
    mtime_ns: int | None = None
    """The file's modification time when it was split."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a config must not."""


_MERGE_TAG = "tag:yaml.org,2002:merge"
EXTENSION_PREFIX = "x-"
MAX_CONFIG_BYTES = 10_000_000
MAX_CONFIG_NODES = 100_000
"""A config holds a few hundred values; aliases may repeat parts of it, but a document that
would expand to more than this many values (a "billion laughs" of nested aliases) is
refused before it is expanded."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:  # keys written twice; merged keys (<<) may be overridden
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"key '{key}' appears twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    loader.flatten_mapping(node)  # YAML merge keys: the merged pairs first, then the node's own
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        mapping[loader.construct_object(key_node, deep=deep)] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document holds with every alias expanded, counted on the node
    graph without expanding it (an alias is the node it names, shared); ConfigError when
    an alias refers to a node that contains it, or when the count passes the bound."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(f"an alias refers to a node that contains it (line {node.start_mark.line + 1})")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_CONFIG_NODES:
            raise ConfigError(
                f"the config expands to more than {MAX_CONFIG_NODES:,} values through its aliases (line "
                f"{node.start_mark.line + 1}): refused"
            )
        sizes[key] = total
        return total

    return size(root)


def _load_yaml(handle: Any) -> Any:
    """The YAML document, its aliases checked before anything is expanded."""
    loader = _UniqueKeyLoader(handle)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
        _expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _lists_to_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_lists_to_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _lists_to_tuples(item) for key, item in value.items()}
    return value


def _key_path(loc: tuple[int | str, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, tuple | list) and item < len(node):
                node = node[item]
                if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                    label += f" ({node['name']})"
            parts.append(label)
        else:
            parts.append(f".{item}" if parts else item)
            node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts) or "(top level)"


def _describe(error: Mapping[str, Any], data: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "unexpected_keyword_argument":
        if loc[:-1] == ("stages",) and loc[-1] in STAGE_ORDER:
            return f"stages: the '{loc[-1]}' stage is not implemented in this version of zhcorpus"
        if loc[:-1] == ("stages", "clean") and loc[-1] in ("unicode", "convert", "min_traditional_share"):
            return f"stages.clean.{loc[-1]}: moved to stages.repair.{loc[-1]} (the repairs run on every source)"
        where = _key_path(loc[:-1], data)
        return f"{where}: unknown key '{loc[-1]}'" if loc[:-1] else f"unknown key '{loc[-1]}'"
    if kind == "missing_argument" or kind == "missing":
        return f"{_key_path(loc, data)}: missing (required)"
    message = error["msg"]
    if kind not in ("value_error", "assertion_error"):
        message += f", got {error.get('input')!r}"
    return f"{_key_path(loc, data)}: {message.removeprefix('Value error, ')}"


def parse_config(data: Any, origin: str = "config") -> RunConfig:
    """Validate a config mapping (as loaded from YAML) into a RunConfig."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: the top level must be a mapping with a 'sources' list")
    # Top-level keys starting with x- are a place for YAML anchors to merge from (<<: *base),
    # as in Docker Compose files: not settings, so not validated.
    data = _lists_to_tuples({key: value for key, value in data.items() if not str(key).startswith(EXTENSION_PREFIX)})
    try:
        return TypeAdapter(RunConfig).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed also reports "too short"; the item errors say more.
        errors = [
            error
            for error in errors
            if error["type"] != "too_short"
            or not any(
                len(other["loc"]) > len(error["loc"]) and other["loc"][: len(error["loc"])] == error["loc"] for other in errors
            )
        ]
        problems = "\n  ".join(_describe(error, data) for error in errors)
        raise ConfigError(f"{origin}: invalid config:\n  {problems}") from None


def _absolute(pattern: str, base_dir: str) -> str:
    if is_remote(pattern) or os.path.isabs(pattern):
        return pattern
    return os.path.normpath(os.path.join(base_dir, pattern))


def load_config(path: str) -> RunConfig:
    """Read, validate and resolve a run config; every problem raises ConfigError."""
    try:
        if os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{os.path.getsize(path):,} bytes: not a config (at most {MAX_CONFIG_BYTES:,})")
        with open(path, encoding="utf-8") as handle:
            data = _load_yaml(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a config file") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    config = parse_config(data, origin=path)
    base_dir = os.path.dirname(os.path.abspath(path))
    sources = tuple(
        dataclasses.replace(source, paths=tuple(_absolute(p, base_dir) for p in source.paths)) for source in config.sources
    )
    clean = config.stages.clean
    clean = dataclasses.replace(
        clean,
        navigation_rules=clean.navigation_rules and _absolute(clean.navigation_rules, base_dir),
        boilerplate_rules=clean.boilerplate_rules and _absolute(clean.boilerplate_rules, base_dir),
        ad_rules=clean.ad_rules and _absolute(clean.ad_rules, base_dir),
    )
    sensitive = dataclasses.replace(
        config.stages.sensitive,
        categories=tuple(
            dataclasses.replace(
                category,
                rules=_absolute(category.rules, base_dir),
                allow=category.allow and _absolute(category.allow, base_dir),
            )
            for category in config.stages.sensitive.categories
        ),
    )
    spam, quality = (
        stage and dataclasses.replace(stage, model=_absolute(stage.model, base_dir))
        for stage in (config.stages.spam, config.stages.quality)
    )
    stages = dataclasses.replace(config.stages, clean=clean, sensitive=sensitive, spam=spam, quality=quality)
    shards = config.shards and dataclasses.replace(config.shards, tokenizer=_absolute(config.shards.tokenizer, base_dir))
    config = dataclasses.replace(config, sources=sources, stages=stages, shards=shards)
    for source in config.sources:
        find_inputs(source)  # a source with no files is a config error, found now
    return config


def _glob_root(pattern: str) -> str:
    """The folder part of a glob before its first wildcard."""
    head = pattern
    for index, char in enumerate(pattern):
        if char in "*?[":
            head = pattern[:index]
            break
    return head if head.endswith("/") else os.path.dirname(head) + "/"


def _match(pattern: str) -> list[str]:
    if is_remote(pattern):
        from apache_beam.io.filesystems import FileSystems

        return [meta.path for result in FileSystems.match([pattern]) for meta in result.metadata_list]
    return glob_files(pattern)


def find_inputs(source: SourceConfig) -> tuple[InputFile, ...]:
    """The files of a source, sorted, each real file once (a file reached twice, through a
    symbolic link or by two patterns, is read under its first path), with paths relative
    to the source's root."""
    matched: dict[str, None] = {}
    for pattern in source.paths:
        found = _match(pattern)
        if not found:
            raise ConfigError(f"sources ({source.name}).paths: no file matches '{pattern}'")
        matched.update(dict.fromkeys(found))
    roots = [_glob_root(pattern) for pattern in source.paths]
    root = os.path.commonpath(roots) if len(roots) > 1 else roots[0].rstrip("/")
    local = sorted(path for path in matched if not is_remote(path))
    files = sorted([*unique_files(local), *(path for path in matched if is_remote(path))])
    return tuple(InputFile(path=path, rel=os.path.relpath(path, root) if root else path) for path in files)


def without_stages(config: RunConfig, stages: set[str]) -> RunConfig:
    """The config with ``stages`` taken out of every source's list (``zhcorpus run --skip-stage``)."""
    sources = tuple(
        dataclasses.replace(source, stages=tuple(stage for stage in source.stages if stage not in stages))
        for source in config.sources
    )
    return dataclasses.replace(config, sources=sources)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def dump_config(config: RunConfig) -> str:
    """The resolved config (every default filled in, paths absolute) as YAML."""
    return yaml.safe_dump(_plain(dataclasses.asdict(config)), allow_unicode=True, sort_keys=False)
