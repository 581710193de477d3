"""The end of the pipeline: tokenizer, source weights, packing, shard writers and shard
statistics (PanGu's Table 4 and its tokenizer)."""
