# slides.mk - the workshop deck (included by the top-level Makefile,
# which runs it from the repository root).
#
# The deck is slides/*.md (Marp Markdown; README.md is not a deck).
# Marp CLI and puppeteer-core come from slides/package-lock.json through
# `npm ci` into slides/node_modules: nothing is installed globally, and
# no browser is downloaded. Chromium is Debian's, found on the PATH or
# given as CHROMIUM=/path/to/chrome.

SLIDES_MD := $(filter-out slides/README.md,$(wildcard slides/*.md))
SLIDES_HTML := $(patsubst slides/%.md,slides/build/%.html,$(SLIDES_MD))
SLIDES_PDF := $(patsubst slides/%.md,slides/build/%.pdf,$(SLIDES_MD))
SLIDES_DEPS := slides/theme.css slides/marp.config.mjs \
    $(wildcard slides/img/*.svg) slides/node_modules/.installed
CHROMIUM ?= $(firstword $(shell command -v chromium chromium-browser \
    google-chrome 2>/dev/null))
SLIDES_MARP = cd slides && npx --no-install marp \
    --config-file marp.config.mjs --no-stdin

slides: $(SLIDES_HTML)

slides/node_modules/.installed: slides/package.json slides/package-lock.json
	cd slides && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund \
	    --loglevel=error
	touch $@

slides/build/%.html: slides/%.md $(SLIDES_DEPS)
	@mkdir -p slides/build
	$(SLIDES_MARP) $*.md -o build/$*.html

slides/build/%.pdf: slides/%.md $(SLIDES_DEPS) | slides-chromium
	@mkdir -p slides/build
	$(SLIDES_MARP) --pdf --browser chrome --browser-path \
	    "$(or $(CHROMIUM),$(shell command -v chromium))" \
	    $*.md -o build/$*.pdf

slides-pdf: $(SLIDES_PDF)

# Debian's chromium, installed when missing (as root, or through sudo).
slides-chromium:
	@if [ -n "$(CHROMIUM)" ] && [ -x "$(CHROMIUM)" ]; then :; \
	elif command -v apt-get >/dev/null; then \
	    echo "slides: installing Debian's chromium"; \
	    s=; [ "$$(id -u)" -eq 0 ] || s=sudo; \
	    $$s apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq \
	        --no-install-recommends chromium fonts-dejavu-core; \
	else \
	    echo "slides: no Chromium; install it, or pass CHROMIUM=path"; \
	    exit 1; \
	fi

# The code on the slides against the sources, the measured figures
# against bench/ (tables, figures, the sleepers picture and the charts
# copied from bench/), the class plans of exercises/README.md against
# the slides; then, where Chromium is available, every slide measured in
# it (overflow, code under 20 px or over 12 lines, words, contrast,
# images, network) and review PNGs written to slides/review/.
SLIDES_CHARTS = idle-4v5 slowloris-4v5

slides-check:
	@sh slides/snippets.sh check $(SLIDES_MD)
	@sh slides/figures.sh check $(SLIDES_MD)
	@awk -f slides/sleepers.awk bench/raw.tsv > slides/build-sleepers.svg
	@if cmp -s slides/build-sleepers.svg slides/img/sleepers.svg; then \
	    rm -f slides/build-sleepers.svg; \
	    echo "slides-check: img/sleepers.svg matches bench/raw.tsv"; \
	else rm -f slides/build-sleepers.svg; \
	    echo "slides-check: img/sleepers.svg differs from" \
	        "bench/raw.tsv; run make slides-sync"; exit 1; fi
	@for c in $(SLIDES_CHARTS); do \
	    cmp -s bench/timeline-$$c.svg slides/img/$$c.svg || { \
	    echo "slides-check: img/$$c.svg differs from" \
	        "bench/timeline-$$c.svg; run make slides-sync"; exit 1; }; \
	done
	@sh slides/plan.sh exercises/README.md slides/workshop.md
ifneq ($(CHROMIUM),)
	@$(MAKE) --no-print-directory slides
	@CHROMIUM="$(CHROMIUM)" node slides/check-render.mjs $(SLIDES_HTML)
else
	@echo "slides-check: no Chromium here, rendering not checked" \
	    "(make slides-chromium installs it)"
endif

slides-sync:
	@sh slides/snippets.sh sync $(SLIDES_MD)
	@sh slides/figures.sh sync $(SLIDES_MD)
	@awk -f slides/sleepers.awk bench/raw.tsv > slides/img/sleepers.svg
	@for c in $(SLIDES_CHARTS); do \
	    cp bench/timeline-$$c.svg slides/img/$$c.svg; done

slides-clean:
	rm -rf slides/build slides/review slides/node_modules

help::
	@echo "make slides          render the deck to slides/build/*.html"
	@echo "make slides-pdf      render it to PDF with Chromium (installs it)"
	@echo "make slides-check    code = sources, figures = bench/, plans add up,"
	@echo "                     no slide overflows (needs Chromium)"
	@echo "make slides-sync     rewrite code, bench tables, pictures on slides"
	@echo "make slides-chromium install Debian's chromium if it is missing"
	@echo "make slides-clean    remove slides/build, review, node_modules"

.PHONY: slides slides-pdf slides-check slides-sync slides-chromium \
    slides-clean
