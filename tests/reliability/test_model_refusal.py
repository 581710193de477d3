"""A model file is checked before fastText reads it: its manifest must describe it, and its
own structure must add up (issue: reliability, row 12: a truncated model with a forged
MODEL.json grew fastText to 16.5 GB)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from filters import classifier
from filters.fasttext_file import ModelFileError, check_model_file
from tests.conftest import REPO
from tests.filters.test_classifier import labelled
from tests.sampling.conftest import real_documents


@pytest.fixture(scope="module")
def models(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A spam model and its quantised twin, trained on real documents."""
    import fasttext

    examples = labelled(real_documents(per_source=120, stride=5))
    folder = tmp_path_factory.mktemp("models")
    paths = {"dense": folder / "dense.bin", "quantised": folder / "quantised.bin"}
    classifier.train(examples, str(paths["dense"]), classifier.TrainSettings(kind="spam", buckets=20_000))
    model = fasttext.load_model(str(paths["dense"]))
    model.quantize(cutoff=1000, retrain=False, qnorm=True)  # product-quantised matrices, norms too
    model.save_model(str(paths["quantised"]))
    data = paths["quantised"].read_bytes()
    info = json.loads(Path(f"{paths['dense']}.json").read_text())
    info.update(model_bytes=len(data), model_sha256=hashlib.sha256(data).hexdigest())
    Path(f"{paths['quantised']}.json").write_text(json.dumps(info))
    return paths


def _forged(model: Path, data: bytes, folder: Path) -> Path:
    """``data`` as a model, with a MODEL.json rewritten to its size and SHA-256."""
    path = folder / "forged.bin"
    path.write_bytes(data)
    info = json.loads(Path(f"{model}.json").read_text())
    info.update(model_bytes=len(data), model_sha256=hashlib.sha256(data).hexdigest())
    Path(f"{path}.json").write_text(json.dumps(info))
    return path


@pytest.mark.parametrize("kind", ["dense", "quantised"])
def test_every_truncation_of_a_model_with_a_forged_manifest_is_refused(
    models: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    data = models[kind].read_bytes()
    assert check_model_file(str(models[kind]))["labels"] == 2
    cuts = sorted({8, 40, 70, 100, 200, len(data) // 7, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1})
    for cut in cuts:
        forged = _forged(models[kind], data[:cut], tmp_path)
        started = time.monotonic()
        with pytest.raises(classifier.ClassifierError, match="not a whole fastText model"):
            classifier.load(str(forged))
        assert time.monotonic() - started < 5, "refused before fastText reads it"
    for extra in (b"\x00", b"junk" * 100):
        with pytest.raises(classifier.ClassifierError, match="bytes after the model's end"):
            classifier.load(str(_forged(models[kind], data + extra, tmp_path)))


def test_a_damaged_size_field_is_refused(models: dict[str, Path], tmp_path: Path) -> None:
    """The input matrix's row count made huge: what fastText would allocate."""
    data = bytearray(models["dense"].read_bytes())
    layout = check_model_file(str(models["dense"]))
    rows = layout["input_rows"].to_bytes(8, "little")
    at = bytes(data).index(rows + layout["dim"].to_bytes(8, "little"))
    data[at : at + 8] = (10**12).to_bytes(8, "little")
    with pytest.raises(ModelFileError, match="input matrix"):
        check_model_file(str(_forged(models["dense"], bytes(data), tmp_path)))


def test_the_run_refuses_a_forged_model_at_start(models: dict[str, Path], sample_dir: Path, tmp_path: Path) -> None:
    data = models["dense"].read_bytes()
    forged = _forged(models["dense"], data[: len(data) // 2], tmp_path)
    shutil.copy(sample_dir / "ebooks" / "fortunes-zh.jsonl.gz", tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(
        f'sources:\n  - name: e\n    paths: ["fortunes-zh.jsonl.gz"]\n    format: jsonl\n    stages: [spam]\n'
        f"stages:\n  spam:\n    model: {forged}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", str(config), "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "not a whole fastText model" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
