"""The only place where config meets classes: the Beam graph and the ``zhcorpus`` CLI."""

import logging

# Beam warns through the root logger while it is imported (optional cloud clients), which
# configures logging for the whole process before ``zhcorpus`` can; a handler that drops
# it keeps the console quiet. The CLI sets up its own logging (``pipelines.cli.main``).
logging.getLogger().addHandler(logging.NullHandler())
