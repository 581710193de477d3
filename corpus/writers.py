"""Writing documents: sharded, sorted, atomic, byte-identical on every runner.

A folder (``kept/<source>``, ``rejected/<stage>``, ``errors``) is split into
``ceil(total bytes / shard_bytes)`` shards; a document's shard is a stable hash of its
source and id, and a shard's documents are sorted by (source, id, content) before writing.
So the files depend on the data and the config only, never on bundle order, worker count
or runner. Each file is written under a temporary name and renamed when complete: a
crashed run never leaves a half-written file under a final name. gzip headers carry no
timestamp.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from corpus.ids import stable_hash
from corpus.record import Document

KEPT = "kept"
REJECTED = "rejected"
ERRORS = "errors"


@dataclass(frozen=True, order=True)
class WrittenFile:
    path: str
    """Relative to the run's output folder."""
    docs: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "docs": self.docs, "bytes": self.bytes, "sha256": self.sha256}


def folder_of(doc: Document) -> str:
    """Where a finished document is written: kept, rejected by a stage, or errors."""
    removal = doc.removal
    if removal is None:
        return f"{KEPT}/{doc.source}"
    if doc.is_error:
        return ERRORS
    return f"{REJECTED}/{removal.stage}"


def shard_count(total_bytes: int, shard_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / shard_bytes))


def shard_of(doc: Document, shards: int) -> int:
    return stable_hash(doc.source, doc.doc_id) % shards


def extension(output_format: str) -> str:
    return {"jsonl": "jsonl", "jsonl.gz": "jsonl.gz", "parquet": "parquet"}[output_format]


def shard_name(index: int, count: int, output_format: str) -> str:
    return f"part-{index:05d}-of-{count:05d}.{extension(output_format)}"


def json_line(doc: Document) -> str:
    return json.dumps(doc.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"


def _encode_jsonl(lines: list[str], compress: bool) -> bytes:
    data = "".join(lines).encode("utf-8")
    if not compress:
        return data
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as member:
        member.write(data)
    return buffer.getvalue()


def _encode_parquet(docs: list[Document]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": [doc.doc_id for doc in docs],
            "source": [doc.source for doc in docs],
            "text": [doc.text for doc in docs],
            "meta": [json.dumps(dict(doc.meta), ensure_ascii=False, sort_keys=True) for doc in docs],
            "verdicts": [json.dumps([v.to_dict() for v in doc.verdicts], ensure_ascii=False) for doc in docs],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def file_sha256(path: str) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (models and shards can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: str, data: bytes | memoryview) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def write_shard(out_dir: str, folder: str, index: int, count: int, docs: Iterable[Document], output_format: str) -> WrittenFile:
    """Write one shard file (documents sorted) and return what was written."""
    keyed = sorted(((doc.source, doc.doc_id, json_line(doc), doc) for doc in docs), key=lambda item: item[:3])
    if output_format == "parquet":
        data = _encode_parquet([item[3] for item in keyed])
    else:
        data = _encode_jsonl([item[2] for item in keyed], compress=output_format == "jsonl.gz")
    relative = f"{folder}/{shard_name(index, count, output_format)}"
    write_atomic(os.path.join(out_dir, relative), data)
    return WrittenFile(relative, len(keyed), len(data), hashlib.sha256(data).hexdigest())


def read_written_file(path: str) -> Iterator[Document]:
    """The documents of one file a run wrote (jsonl, jsonl.gz or parquet)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for row in pq.read_table(path).to_pylist():
            yield Document.from_dict({**row, "meta": json.loads(row["meta"]), "verdicts": json.loads(row["verdicts"])})
    elif path.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield Document.from_dict(json.loads(line))


def written_files(out_dir: str, folder: str) -> list[str]:
    """The document files under ``out_dir/folder``, sorted."""
    directory = os.path.join(out_dir, folder)
    if not os.path.isdir(directory):
        return []
    names = sorted(name for name in os.listdir(directory) if name.endswith((".parquet", ".jsonl", ".jsonl.gz")))
    return [os.path.join(directory, name) for name in names]


def read_written(out_dir: str, folder: str) -> list[Document]:
    """Every document written under ``out_dir/folder``, in file order (for tools and tests)."""
    return [doc for path in written_files(out_dir, folder) for doc in read_written_file(path)]
