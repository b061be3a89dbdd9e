# dmct: two commands do all set-up on a fresh machine (python3, pip, git, make):
#   make demo   run both standard packs against the virtual lab's default DMC and print the verdict
#   make test   run the project's own tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
WORKERS ?= 2

.PHONY: demo test lint typecheck imports check clean venv report nightly defects

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The editable build leaves dmct.egg-info in the project root; on sys.path it would shadow the
	# installed metadata and make pytest try to assertion-rewrite the already imported packages.
	rm -rf dmct.egg-info
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/dmct run --lab labs/virtual.yaml --rigs $(WORKERS) -n $(WORKERS)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) -p no:cacheprovider

# Optional: the demo run with allure results, rendered to one HTML file by the npm package `allure`
# (Allure 3; needs node/npx). Labels: pack (epic), functional group (feature), SRV (story),
# requirement ids, entry and DMC; each test's transcript is attached.
report: $(STAMP)
	$(BIN)/dmct run --lab labs/virtual.yaml --rigs $(WORKERS) -n $(WORKERS) -- --alluredir results/allure
	npx --yes allure@3 generate --single-file results/allure -o results/allure-report

# A night of regression locally: every entry of the lab, reports, evidence, diff against the last night
# (results/nightly/; exit 1 on a regression). See docs/nightly.md.
nightly: $(STAMP)
	ci/nightly --lab labs/virtual.yaml --rigs $(WORKERS) -n $(WORKERS)

# Defect detection coverage, full matrix: every pack test against every seeded defect of the virtual
# lab (about 15 minutes on 2 cores). `make test` re-checks the killer plan instead.
defects: $(STAMP)
	$(BIN)/dmct defects coverage --lab labs/virtual.yaml -j 4 -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

clean:
	rm -rf $(VENV) results/* *.egg-info .mypy_cache .ruff_cache
