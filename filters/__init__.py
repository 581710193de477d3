"""One module per stage (clean, sensitive, spam and quality, dedup) and their rule files.

``stage`` holds what all stages share: a pure judge wrapped in a thin Beam DoFn.
"""
