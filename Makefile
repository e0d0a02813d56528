# Tasks for readers, learners and instructors. Every target sets up what it needs first.
#   make book    virtual environment + pinned packages + the site in _build/html
#   make test    the instructors' suite: graded tests on solutions/, the suite's self-checks,
#                the book build and the browser test
#   make grade   the learners' command: tests on exercises/ and a score table, with a light
#                install (requirements-grading.txt: numpy, torch, pytest, ...; no site toolchain)
#                ARGS="news -k percent_change -x" passes topics and pytest's -k/-x on;
#                TORCH_INDEX=https://download.pytorch.org/whl/cpu installs torch's CPU-only build
#   make mine    the chapters executed with your exercises/ (or IMPL=path) in _build/mine/html
#   make lab     JupyterLab on the chapters (book/*.md open as notebooks)
#   make serve   serve the built site on http://127.0.0.1:8000
#   make autograder  the Gradescope autograder bundle in dist/autograder.zip (EXTRA_TESTS=dir)
#   make bench-grading  grade 100 generated submissions and report submissions per minute
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# pip warns about every unreadable extra index on some machines; keep its real errors only.
PIP_QUIET := 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GRADE_STAMP := $(VENV)/.installed-grading
STAMP := $(VENV)/.installed
# An index to install torch from first (empty: pip's usual indexes, the default).
TORCH_INDEX ?=
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
MATHJAX := assets/mathjax/tex-chtml.js
PORT ?= 8000

.PHONY: setup book test grade serve lint clean lock autograder bench-grading

setup: $(STAMP) $(MATHJAX)

# Two stamps: what grading needs (make grade), then the site, JupyterLab and the checks on top.
$(GRADE_STAMP): requirements-grading.txt pyproject.toml
	@echo "==> Creating the virtual environment $(VENV) with what grading needs (requirements-grading.txt)"
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PIP) --index-url $(TORCH_INDEX) "$$(grep '^torch==' requirements-grading.txt)" $(PIP_QUIET))
	$(PIP) -r requirements-grading.txt $(PIP_QUIET)
	$(PIP) --no-deps -e . $(PIP_QUIET)
	@touch $(GRADE_STAMP)

$(STAMP): $(GRADE_STAMP) requirements.txt
	@echo "==> Adding the site toolchain, JupyterLab and the instructor's checks (requirements.txt)"
	$(PIP) -r requirements.txt $(PIP_QUIET)
	@touch $(STAMP)

$(MATHJAX): package.json package-lock.json scripts/vendor_static.py | $(STAMP)
	@echo "==> Installing MathJax from npm and copying it into assets/ so the site renders math offline"
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python scripts/vendor_static.py

# The execution cache knows each page's own source, not the course code and data the pages
# import; when those change, every page is executed again.
PAGE_INPUTS = $(sort $(wildcard course/*.py course/data/* solutions/*.py assets/*.css assets/*.js) _config.yml)

book: setup
	@inputs=$$(cat $(PAGE_INPUTS) | sha1sum | cut -c1-40); \
	if [ "$$(cat _build/.page-inputs 2>/dev/null)" != "$$inputs" ]; then \
	  echo "==> Course code or data changed since the last build (or first build): executing every page"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees; \
	fi; \
	echo "==> Building the site (every page executed, warnings are errors)"; \
	start=$$(date +%s); \
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going || exit $$?; \
	echo "$$inputs" > _build/.page-inputs; \
	echo "==> Site built in $$(( $$(date +%s) - start )) s: open _build/html/index.html, or run 'make serve'"

test: book
	@echo "==> Lint (ruff)"
	$(BIN)/ruff check --quiet . && $(BIN)/ruff format --check --quiet .
	@echo "==> Instructor suite: graded tests on solutions/, self-checks, site checks, browser test"
	@echo "    (two processes: much of the suite waits on time limits and the browser; checks/conftest.py)"
	$(BIN)/python -m pytest --impl solutions tests checks -rs -n 2 --dist loadscope
	@echo "==> All checks passed. Browser screenshots: _build/screenshots/"

grade: $(GRADE_STAMP)
	@$(BIN)/python -m grading --impl $(or $(IMPL),exercises) $(ARGS)

autograder: $(GRADE_STAMP)
	@$(BIN)/python -m grading.bundle --out dist/autograder.zip $(if $(EXTRA_TESTS),--extra-tests $(EXTRA_TESTS))

bench-grading: $(GRADE_STAMP)
	$(BIN)/python benchmarks/bench_grading.py

serve:
	@test -f _build/html/index.html || { echo "No site yet: run 'make book' first."; exit 1; }
	@echo "==> Serving _build/html on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-pin both lists from fresh environments: the package's dependencies (what grading needs),
# then its extras on top of those pins.
LOCK_VENV := /tmp/course-lock
FREEZE = $(LOCK_VENV)/bin/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'
lock:
	@echo "==> Re-pinning requirements-grading.txt and requirements.txt from fresh environments"
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet -e .
	{ sed -n '/^#/p' requirements-grading.txt; $(FREEZE); } > $(LOCK_VENV)/grading.txt
	$(LOCK_VENV)/bin/pip install --quiet -c $(LOCK_VENV)/grading.txt -e '.[book,dev]'
	{ sed -n '/^[#-]/p' requirements.txt; $(FREEZE) | grep -vxFf $(LOCK_VENV)/grading.txt; } > $(LOCK_VENV)/full.txt
	mv $(LOCK_VENV)/grading.txt requirements-grading.txt && mv $(LOCK_VENV)/full.txt requirements.txt

clean:
	rm -rf _build assets/mathjax

# ---- Your own chapters: make mine, make lab ---------------------------------------------------
#   make mine   the chapters executed with your exercises/ (or IMPL=solutions, IMPL=path/to/folder)
#               and built into _build/mine/html; _build/html is not touched
#   make lab    JupyterLab on the chapters: book/*.md open as notebooks (jupytext), running your
#               exercises/ (or IMPL=...); LAB_PORT=8888
LAB_PORT ?= 8888

.PHONY: mine lab

mine: setup
	@$(BIN)/python scripts/build_mine.py --impl $(or $(IMPL),exercises)

lab: setup
	@echo "==> JupyterLab on the chapters, running $(or $(IMPL),exercises) (Ctrl-C stops)"
	COURSE_IMPL=$(or $(IMPL),exercises) PYTHONPATH=$(CURDIR) $(BIN)/jupyter-lab \
	  --ServerApp.root_dir=$(CURDIR) --port=$(LAB_PORT) --LabApp.app_settings_dir=$(CURDIR)/binder/lab \
	  --LabApp.default_url=/lab/tree/book/intro.md $(LAB_ARGS)
