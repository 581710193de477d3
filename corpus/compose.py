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
that yields empty text (after the clean-up) is an error naming the field or template.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corpus.config import SourceConfig
from corpus.reasons import Reason

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[(?:\*|\d+)\])*)$")
_INDEX = re.compile(r"\[(\*|\d+)\]")
_ATTRIBUTE = r"""\s+[A-Za-z_:][A-Za-z0-9_:.-]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=]+))?"""
_MARKUP = re.compile(rf"<!--.*?-->|</?[A-Za-z][A-Za-z0-9:-]*(?:{_ATTRIBUTE})*\s*/?>", re.DOTALL)
"""Tags and comments only: 如果 a<b 且 b>c keeps its comparison signs."""
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
                if item is None and index == "*":
                    item = []  # a null list walks like an empty one
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
            if rule.present is not None and present != rule.present:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' {'absent' if rule.present else 'present'}")
            values = _comparable(resolve(record, rule.field)) if present else []
            if rule.equals is not None and rule.equals not in values:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' is not {rule.equals!r}")
            if rule.not_equals is not None and rule.not_equals in values:
                raise RecordError(Reason.FILTERED_OUT, f"where: field '{rule.field}' is {rule.not_equals!r}")
        if source.text_template is not None:
            text = render(source.text_template, record, source.join_separator)
            named = f"the template {source.text_template!r}"
        else:
            value = record.get(source.text_field)
            if value is None:
                raise RecordError(Reason.MISSING_TEXT, f"field '{source.text_field}'")
            if not isinstance(value, str):
                raise RecordError(Reason.NON_STRING_TEXT, f"field '{source.text_field}' is a {type(value).__name__}")
            text = value
            named = f"field '{source.text_field}'"
        text = self.clean(text)
        if not text.strip():
            raise RecordError(Reason.MISSING_TEXT, f"{named} gives empty text")
        doc_id = None
        if source.id_template is not None:
            doc_id = render(source.id_template, record, source.join_separator).strip()
            if not doc_id or "\n" in doc_id:
                raise RecordError(Reason.BAD_ID, f"the id template {source.id_template!r} gives {doc_id!r}")
        meta: dict[str, Any] = {}
        for path in source.meta_fields:
            value = resolve(record, path)
            if isinstance(value, list):
                value = _as_text(value, path, source.join_separator)
            elif not _scalar(value):
                value = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
            meta[path] = value
        return Composed(text, doc_id, meta)

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


def _comparable(value: Any) -> list[str]:
    """A field's value(s) as the strings a where condition compares with: JSON spellings
    (true, false, null), integral floats as integers, every element of a list."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is None or isinstance(item, bool):
            out.append(json.dumps(item))
        elif isinstance(item, float) and item.is_integer():
            out.append(str(int(item)))
        else:
            out.append(str(item))
    return out


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
