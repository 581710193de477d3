"""A finished run's files, read for the report: stats/run.json (required), stats/dedup.json,
stats/shards.json, stats/timing.json (each optional) and config.resolved.yaml."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import yaml

from pipelines.graph import DEDUP_STATS, RESOLVED_CONFIG, RUN_STATS, TIMING
from sampling.shards import SHARD_STATS


class ReportError(Exception):
    """Not a finished run, or one of its files is unreadable or not what zhcorpus writes."""


@dataclass(frozen=True)
class RunData:
    path: str
    run: dict[str, Any]
    dedup: dict[str, Any] | None
    shards: dict[str, Any] | None
    timing: dict[str, Any] | None
    config_text: str
    config: dict[str, Any]
    shown: str = ""
    """The run folder as the report names it (a run's report is written before the run
    is moved from its staging folder into place); default: ``path``."""
    gold: dict[str, Any] | None = None
    """The run measured against a gold set (pipelines/evaluate/gold.py), when one is given."""

    @property
    def sources(self) -> dict[str, Any]:
        return self.run["sources"]

    @property
    def place(self) -> str:
        return self.shown or self.path

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(self.place)) or self.place


def _read_json(path: str, required: bool) -> dict[str, Any] | None:
    if not os.path.exists(path):
        if required:
            raise ReportError(f"{os.path.dirname(os.path.dirname(path))}: not a finished run (no {RUN_STATS})")
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: not a JSON object")
    return data


def load_run(path: str, shown: str = "") -> RunData:
    run = _read_json(os.path.join(path, RUN_STATS), required=True)
    assert run is not None
    if not isinstance(run.get("sources"), dict):
        raise ReportError(f"{os.path.join(path, RUN_STATS)}: no 'sources'")
    config_path = os.path.join(path, RESOLVED_CONFIG)
    config_text = ""
    try:
        if os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as handle:
                config_text = handle.read()
        config = yaml.safe_load(config_text) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReportError(f"{config_path}: unreadable ({exc})") from exc
    return RunData(
        path=path,
        run=run,
        dedup=_read_json(os.path.join(path, DEDUP_STATS), required=False),
        shards=_read_json(os.path.join(path, SHARD_STATS), required=False),
        timing=_read_json(os.path.join(path, TIMING), required=False),
        config_text=config_text,
        config=config if isinstance(config, dict) else {},
        shown=shown,
    )
