# dmct: two commands do all set-up on a fresh machine (python3, pip, git, make):
#   make demo   run both standard packs against the virtual lab's default DMC and print the verdict
#   make test   run the project's own tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
WORKERS ?= 2
# The test targets cache bytecode, and pytest's assertion-rewritten test modules, under .venv/pycache
# even where the environment sets PYTHONDONTWRITEBYTECODE (many container images do): the suite starts
# hundreds of Python processes (labs, pack sessions and their workers), and without a cache each one
# rewrites every test module it collects again (half of a pack session's collection CPU; issue 21).
# The source tree stays free of __pycache__ either way.
PYCACHE := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache

.PHONY: demo duis-xsd test slow killers lint typecheck imports check clean venv report nightly defects

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The editable build leaves dmct.egg-info in the project root; on sys.path it would shadow the
	# installed metadata and make pytest try to assertion-rewrite the already imported packages.
	rm -rf dmct.egg-info
	touch $(STAMP)

venv: $(STAMP)

# ROUTE=duis: the same packs over DUIS to the virtual DSP (labs/virtual-duis.yaml; docs/protocols/duis.md).
ROUTE ?= virtual
DEMO_LAB := $(if $(filter duis,$(ROUTE)),labs/virtual-duis.yaml,labs/virtual.yaml)

demo: $(STAMP) $(if $(filter duis,$(ROUTE)),duis-xsd)
	$(BIN)/dmct run --lab $(DEMO_LAB) --rigs $(WORKERS) -n $(WORKERS)

# The DUIS XSD for the virtual DSP and the duis route: from the DCC Boxed tool (GPL: fetched with npm
# into ~/.cache, never kept in the repository), where labs/virtual-duis.yaml looks for it.
duis-xsd: $(STAMP)
	$(BIN)/python -c "import shutil, pathlib; from tests.duis.dcc_tool import fetch; t = fetch(); \
	d = pathlib.Path.home() / '.cache/dmct/duis-sign-wrap/resources'; d.mkdir(parents=True, exist_ok=True); \
	[shutil.copy(f, d / f.name) for f in t.files.iterdir() if f.suffix in ('.xsd', '.dtd')]"

# `make test` leaves out the long cases marked `slow` (each matrix keeps a representative case here);
# `make slow` runs them, and .ci/run runs both, with `make killers` (whose file it leaves to that target).
test: $(STAMP)
	$(PYCACHE) $(BIN)/python -m pytest -n $(WORKERS) -p no:cacheprovider -m "not slow"

slow: $(STAMP)
	$(PYCACHE) $(BIN)/python -m pytest -n $(WORKERS) -p no:cacheprovider -m slow \
		--ignore tests/packs/test_defect_coverage.py

# Optional: the demo run with allure results, rendered to one offline HTML file by Allure 3 (npm
# package `allure`; needs node/npx). allurerc.json groups the tree by pack (epic), functional group
# (feature) and SRV (story) and makes it a single file; each test's transcript is attached to its body;
# requirement links open ttm.html#<id>, the TTM page `dmct ttm --html` writes beside the report.
# A run with failing tests still gets its report.
report: $(STAMP)
	rm -rf results/allure results/allure-report
	-$(BIN)/dmct run --lab labs/virtual.yaml --rigs $(WORKERS) -n $(WORKERS) --alluredir results/allure
	npx --yes allure@3 generate --config allurerc.json results/allure -o results/allure-report
	$(BIN)/dmct ttm --html results/allure-report/ttm.html > /dev/null
	@echo "report: results/allure-report/index.html"

# A night of regression locally: every entry of the lab, reports, evidence, diff against the last night
# (results/nightly/; exit 1 on a regression). See docs/nightly.md.
nightly: $(STAMP)
	ci/nightly --lab labs/virtual.yaml --rigs $(WORKERS) -n $(WORKERS)

# The whole killer plan (every listed catalogue defect against the pack tests it must fail; about 140 lab
# sessions, 10-15 minutes on 2 cores). `make test` runs a fixed sample of it; .ci/run runs this too.
killers: $(STAMP)
	$(PYCACHE) DMCT_FULL_KILLERS=1 $(BIN)/python -m pytest -p no:cacheprovider tests/packs/test_defect_coverage.py

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
