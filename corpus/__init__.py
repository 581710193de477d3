"""What a document is and how it comes in and goes out.

``record`` (the Document and its Verdicts), ``reasons`` (every outcome a report can name),
``readers`` (JSONL, Parquet, text, WARC), ``writers`` (sharded, atomic, deterministic),
``config`` (the run's YAML, validated into frozen dataclasses).
"""
