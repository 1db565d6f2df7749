# tests/abuse.mk - hostile input and load: make fuzz, make stress.
# Included by the top-level Makefile; runs from the repository root.
# What the targets check, and the latest results: tests/README.md.

# ---- make fuzz: libFuzzer over the parser, router and body decoder ----

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := tests/fuzz
# The HTTP layer is byte-identical in every step; step 1's is fuzzed.
FUZZ_STEP = $(call step_dir,1)
FUZZ_BIN := $(FUZZ_DIR)/fuzz_http
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
ABUSE_WARN := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic \
    $(if $(WERROR),-Werror)
# Inputs up to a little past the 8192-byte head window, so that 414,
# 431 and "only the first 8192 bytes count" are all reachable.
FUZZ_OPTS = -max_total_time=$(FUZZ_SECONDS) -max_len=8400 -timeout=10 \
    -dict=$(FUZZ_DIR)/http.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ \
    -print_final_stats=1

# The harness parses each input once through an instrumented
# http_parse.c (coverage feedback guides the fuzzer) and thousands of
# times, as prefixes, through a second copy built without coverage
# hooks: same source, same sanitizers, its public names renamed with a
# _plain suffix so that both copies link into one program.
FUZZ_PLAIN := -Dhttp_parse=http_parse_plain -Dhttp_route=http_route_plain \
    -Dhttp_body_start=http_body_start_plain \
    -Dhttp_body_feed=http_body_feed_plain
$(FUZZ_BIN): $(FUZZ_DIR)/fuzz_http.c $(wildcard $(FUZZ_STEP)/*.[ch])
	@$(MAKE) --no-print-directory fuzz-runtime
	$(FUZZ_CC) $(ABUSE_WARN) -O2 -g -fsanitize=address,undefined \
	    -fno-sanitize-recover=all $(FUZZ_PLAIN) -I$(FUZZ_STEP) \
	    -c -o $@-plain.o $(FUZZ_STEP)/http_parse.c
	$(FUZZ_CC) $(ABUSE_WARN) -O1 -g $(FUZZ_SAN) -I$(FUZZ_STEP) -o $@ \
	    $(FUZZ_DIR)/fuzz_http.c $(FUZZ_STEP)/http_parse.c $@-plain.o
	rm -f $@-plain.o

# libFuzzer's runtime is a separate Debian package (libclang-rt-N-dev
# for clang N). Installed here when missing and we may; else explained.
FUZZ_PROBE := int LLVMFuzzerTestOneInput(const char *d, unsigned long n) \
    { (void)d; (void)n; return 0; }
fuzz-runtime:
	@echo '$(FUZZ_PROBE)' | $(FUZZ_CC) -fsanitize=fuzzer -x c - \
	    -o /dev/null 2>/dev/null && exit 0; \
	if ! $(FUZZ_CC) --version 2>/dev/null | grep -q clang; then \
	    echo "fuzz: libFuzzer comes with clang; try FUZZ_CC=clang"; \
	    exit 1; \
	fi; \
	pkg=libclang-rt-$$($(FUZZ_CC) -dumpversion | cut -d. -f1)-dev; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "fuzz: installing $$pkg (the libFuzzer runtime)"; \
	    apt-get update -q >/dev/null && \
	        apt-get install -y -q $$pkg >/dev/null || exit 1; \
	else \
	    echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer;" \
	        "install $$pkg (Debian, Ubuntu) and retry"; exit 1; \
	fi

# Any crash, leak, undefined behaviour, hang (-timeout) or broken
# invariant stops libFuzzer with a non-zero status, which fails make.
# New inputs go to corpus/ (the first folder named), seeds/ is only
# read.
fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(FUZZ_BIN) $(FUZZ_OPTS) $(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds

fuzz-clean:
	rm -rf $(FUZZ_BIN) $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts

help::
	@echo "make fuzz            fuzz the parser and router for" \
	    "FUZZ_SECONDS (60)," \
	    "clang+libFuzzer"
	@echo "make fuzz-clean      drop the fuzzer, its corpus and crashes"

.PHONY: fuzz fuzz-runtime fuzz-clean

# ---- make stress: every step under hostile load (Linux, loopback) ----

STRESS_BIN := tests/stress/stress

$(STRESS_BIN): tests/stress/stress.c
	$(CC) $(ABUSE_WARN) -O2 -g -o $@ $<

# Builds every step, then runs each scenario against each step, prints
# the table and writes it to tests/stress/logs/table.md (ignored);
# stress-report also writes it into tests/README.md. Fails only when
# step 4 (or a later step) loses a request or ends unhealthy. About 2
# minutes.
stress: $(STRESS_BIN) $(STEPS)
	tests/stress/run.sh $(STEPS)

stress-report: $(STRESS_BIN) $(STEPS)
	STRESS_REPORT=1 tests/stress/run.sh $(STEPS)

help::
	@echo "make stress          hostile load on every step; prints the" \
	    "table (tests/stress/logs/)"
	@echo "make stress-report   the same, and the table into" \
	    "tests/README.md"

.PHONY: stress stress-report
