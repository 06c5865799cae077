# Two commands on a fresh machine:  `make run` (main job on bundled data)  and  `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
TORCH   ?= torch==2.13.0
# One thread is stable on small CPUs (2 threads swung 10 ms -> 790 ms per step); override with GRN_MNN_THREADS.
export OMP_NUM_THREADS ?= 1
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: run test install lint clean bench validate

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the pinned CPU torch first, so nothing pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,peers]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/grn-mnn run --overwrite  # the canned main job regenerates results/ (deterministic)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check grn_mnn tests validation examples benchmarks
	$(BIN)/ruff format --check grn_mnn tests validation examples benchmarks

validate: install
	$(BIN)/python validation/score_trrust.py
	$(BIN)/python validation/grn_benchmark.py
	$(BIN)/python validation/interpolation.py

bench: install
	$(BIN)/python benchmarks/extraction_scaling.py
	$(BIN)/python benchmarks/training_scaling.py

clean:
	rm -rf $(VENV) results .pytest_cache
