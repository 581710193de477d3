# Beam's --setup_file ships the package to remote workers through this file; everything
# else is declared in setup.cfg.
from setuptools import setup

setup()
