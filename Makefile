# gridwatch: `make demo` runs the agent on sample footage; `make test` runs the whole suite.
# Both install what they need: system packages (Mosquitto, GStreamer's RTSP server for the
# tests) when missing, then a virtualenv in .venv with the project and its dev tools.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mosquitto mosquitto-clients python3-gi gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-tools openssl \
	chromium fonts-wqy-microhei

.PHONY: demo test lint bench-edge bench-cloud bench-thrown bench-alert bench-smoke-fire ledger-smoke-fire ledger-thrown train-smoke-fire system-deps venv docs screenshots clean

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python >= 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: system-deps venv lint
	$(VENV)/bin/pytest -q

demo: system-deps venv
	$(PY) -m cloud.demo

docs: venv
	$(VENV)/bin/gridwatch-edge docs --out docs
	$(VENV)/bin/gridwatch-cloud docs --out docs

screenshots: system-deps venv
	GRIDWATCH_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q tests/test_console.py

clean:
	rm -rf $(VENV) build var .pytest_cache .ruff_cache

bench-edge: venv
	$(PY) bench/edge_runtime.py --write

bench-cloud: system-deps venv
	$(PY) bench/cloud_ingest.py --write

bench-thrown: venv
	$(PY) bench/thrown.py --write

bench-smoke-fire: venv
	$(PY) bench/smoke_fire.py --write

# Add SCENES confuser scenes (smoke: of each kind; thrown: in all) to the committed ledgers of false alarms (bench/ledgers/),
# which add up camera-hours over sittings for the per-camera-day targets; commit the ledger after.
SCENES ?= 3
ledger-smoke-fire: venv
	$(PY) bench/smoke_fire.py --ledger $(SCENES) --confuser-minutes 10

ledger-thrown: venv
	$(PY) bench/thrown.py --ledger $(SCENES) --confuser-minutes 10

# Retrain the default smoke/fire model from ../shared/data (CPU, one thread, ~12 min) and print its metrics.
train-smoke-fire: venv
	$(PY) -m pip install -q -e '.[train]'
	$(PY) models/train_smoke_fire.py --seed 0

bench-alert: system-deps venv
	$(PY) bench/alert_latency.py --write
