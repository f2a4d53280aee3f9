# guanai — the README's commands. `make demo` and `make test` each do the whole set-up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := libreoffice-writer-nogui fontconfig fonts-noto-cjk fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei fonts-cwtex-fs fonts-liberation2 poppler-utils python3-uno chromium

.PHONY: setup system-deps demo test static lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# LibreOffice and CJK fonts for PDF output: installed with apt when we are root or have sudo.
system-deps:
	@if command -v soffice >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 && command -v pdfsig >/dev/null 2>&1 && /usr/bin/python3 -c "import uno" 2>/dev/null \
	    && fc-list 2>/dev/null | grep -q "Noto Serif CJK" && fc-list 2>/dev/null | grep -q "FandolFang" \
	    && fc-list 2>/dev/null | grep -q "cwTeXFangSong" && fc-list 2>/dev/null | grep -q "Liberation Serif"; then \
	  echo "系统依赖已就绪（LibreOffice、中文字体、pdfsig、chromium）。"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "安装 LibreOffice、中文字体与 pdfsig（apt）……"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  tools/install_fandol.sh; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "安装 LibreOffice、中文字体与 pdfsig（sudo apt）……"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  sudo tools/install_fandol.sh; \
	else \
	  echo "注意：非 root 且无 sudo，跳过 LibreOffice 与中文字体安装；PDF 输出不可用（PDF 测试将跳过）。"; \
	  echo "      请管理员执行：apt-get install --no-install-recommends $(APT_PACKAGES) && tools/install_fandol.sh"; \
	fi

setup: system-deps $(VENV)/.installed

demo: setup
	rm -rf demo-archive
	$(VENV)/bin/guanai demo demo-archive

# mypy and import-linter read the installed layout through a symlink view (tools/view.sh).
static: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	@tools/view.sh >/dev/null
	$(VENV)/bin/mypy
	cd build/view && ../../$(VENV)/bin/lint-imports ../../pyproject.toml

test: setup static
	$(PY) -m pytest -q -x -p no:cacheprovider

lint: static

bench: setup
	$(PY) -m bench.archive
	$(PY) -m bench.generate
	$(PY) -m bench.search
	$(PY) -m bench.transfer
	$(PY) -m bench.faults
	$(PY) -m bench.workflow
	$(PY) -m bench.term_start
	$(PY) -m bench.web

clean:
	rm -rf $(VENV) demo-archive build *.egg-info .pytest_cache .mypy_cache .ruff_cache
