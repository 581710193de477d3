"""The only place where config meets classes: the Beam graph and the ``zhcorpus`` CLI."""
