# Beam's --setup_file ships the package to remote workers through this file; everything
# else is declared in setup.cfg. The one compiled part: the clean stage's per-character
# passes (filters/_textscan.c), built by `pip install` with the machine's C compiler.
from setuptools import Extension, setup

setup(ext_modules=[Extension("filters._textscan", ["filters/_textscan.c"], extra_compile_args=["-O2"])])
