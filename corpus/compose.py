"""Format conversion: composing a document's text, id and metadata from a record's fields.

PanGu's public datasets (DuReader, BaiDuQA, CAIL2018, ...) needed "format conversion":
the pretraining text is composed from the right fields and the labels dropped. A source
says how in its config instead of in a one-off script:

- ``text_template: "问：{question}\\n答：{answer}"``: placeholders are field paths;
  ``{documents[*].paragraphs[*]}`` walks nested lists, whose items are joined by
  ``join_separator``; ``{{`` and ``}}`` are literal braces. Without a template the text is
  the ``text_field``.
- ``id_template: "{qid}-{docid}"``: the id from fields (else ``id_field``, else file + line).
- ``meta_fields: [label, source.url]``: fields kept as metadata.
- ``where: [{field: label, present: true}]``: rows that fail a condition are rejected
  with the reason ``filtered_out`` (counted, never silently dropped).
- clean-up that belongs to a format: ``replacements`` (regex -> text, e.g. part-of-speech
  tags ``迈向/v`` -> ``迈向``), ``fold_fullwidth_digits``, ``strip_markup``.

A missing field, a template naming an absent key, a value that is not text, or a record
that yields empty text is an error naming the field.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corpus.config import SourceConfig
from corpus.reasons import Reason

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[(?:\*|\d+)\])*)$")
_INDEX = re.compile(r"\[(\*|\d+)\]")
_MARKUP = re.compile(r"<[^<>]{1,200}>")
_FULLWIDTH_DIGITS = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}


class RecordError(Exception):
    """What is wrong with a record; becomes an error record (or a rejection)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_path(path: str) -> list[tuple[str, list[str]]]:
    """``documents[*].paragraphs[0]`` -> [("documents", ["*"]), ("paragraphs", ["0"])]."""
    steps = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment.strip())
        if not match:
            raise ValueError(f"bad field path {path!r}")
        steps.append((match.group(1), _INDEX.findall(match.group(2))))
    return steps


def template_fields(template: str) -> list[str]:
    """The field paths of a template; ValueError on a malformed one."""
    fields = []
    for match in _PLACEHOLDER.finditer(template):
        if match.group(1) is not None:
            parse_path(match.group(1))
            fields.append(match.group(1))
    leftover = _PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ValueError(f"unbalanced brace in template {template!r}")
    return fields


_MISSING = object()


def resolve(record: Any, path: str) -> Any:
    """The value at ``path``: a scalar, or a flat list where ``[*]`` was walked. Raises
    RecordError(MISSING_TEXT) naming the first absent part."""
    values: list[Any] = [record]
    walked = False
    for name, indexes in parse_path(path):
        following = []
        for value in values:
            item = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
            if item is _MISSING:
                raise RecordError(Reason.MISSING_TEXT, f"field '{path}': no '{name}'")
            for index in indexes:
                if not isinstance(item, list):
                    raise RecordError(Reason.NON_STRING_TEXT, f"field '{path}': '{name}' is not a list")
                if index == "*":
                    walked = True
                    item = [element for element in item]
                else:
                    position = int(index)
                    if position >= len(item):
                        raise RecordError(Reason.MISSING_TEXT, f"field '{path}': '{name}[{position}]' does not exist")
                    item = item[position]
            if isinstance(item, list) and walked:
                following.extend(_flatten(item))
            else:
                following.append(item)
        values = following
    return values if walked else values[0]


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _as_text(value: Any, path: str, separator: str) -> str:
    if isinstance(value, list):
        return separator.join(_as_text(item, path, separator) for item in value if item is not None)
    if value is None:
        raise RecordError(Reason.MISSING_TEXT, f"field '{path}' is null")
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(Reason.NON_STRING_TEXT, f"field '{path}' is a {type(value).__name__}")
    return str(value)


def render(template: str, record: Any, separator: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return _as_text(resolve(record, match.group(1)), match.group(1), separator)

    return _PLACEHOLDER.sub(replace, template)


@dataclass(frozen=True)
class Composed:
    text: str
    doc_id: str | None
    meta: dict[str, Any]


class Composer:
    """Turns one record (a dict) into text, id and metadata by a source's settings."""

    def __init__(self, source: SourceConfig) -> None:
        self._source = source
        self._replacements = [(re.compile(rule.pattern), rule.replace) for rule in source.replacements]

    def compose(self, record: Any) -> Composed:
        source = self._source
        if not isinstance(record, Mapping):
            raise RecordError(Reason.NOT_AN_OBJECT, f"a {type(record).__name__}, not an object")
        for rule in source.where:
            present = _present(record, rule.field)
            value = resolve(record, rule.field) if present else None
            if rule.present is not None and present != rule.present:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' {'absent' if rule.present else 'present'}")
            if rule.equals is not None and str(value) != rule.equals:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' is {value!r}, not {rule.equals!r}")
            if rule.not_equals is not None and str(value) == rule.not_equals:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' is {rule.not_equals!r}")
        if source.text_template is not None:
            text = render(source.text_template, record, source.join_separator)
        else:
            value = record.get(source.text_field)
            if value is None:
                raise RecordError(Reason.MISSING_TEXT, f"field '{source.text_field}'")
            if not isinstance(value, str):
                raise RecordError(Reason.NON_STRING_TEXT, f"field '{source.text_field}' is a {type(value).__name__}")
            text = value
        text = self.clean(text)
        if source.text_template is not None and not text.strip():
            raise RecordError(Reason.MISSING_TEXT, "the template gives empty text")
        doc_id = None
        if source.id_template is not None:
            doc_id = render(source.id_template, record, source.join_separator)
        meta = {}
        for path in source.meta_fields:
            value = resolve(record, path)
            meta[path] = _as_text(value, path, source.join_separator) if isinstance(value, list) else value
        return Composed(text, doc_id, {key: value for key, value in meta.items() if _scalar(value)})

    def clean(self, text: str) -> str:
        source = self._source
        for pattern, replacement in self._replacements:
            text = pattern.sub(replacement, text)
        if source.fold_fullwidth_digits:
            text = text.translate(_FULLWIDTH_DIGITS)
        if source.strip_markup:
            text = html.unescape(_MARKUP.sub("", text))
        return text


def _present(record: Any, path: str) -> bool:
    try:
        value = resolve(record, path)
    except RecordError:
        return False
    return value not in (None, "", [])


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
