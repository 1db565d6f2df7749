# tools/tools.mk - the timeline client, `make demo`, `make bench` and
# `make bench-report`.
#
# Included by the top-level Makefile, and run from the repository root.
# The tools are built with the same warnings as the steps.

TOOLS_WARN = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic
ifdef WERROR
TOOLS_WARN += -Werror
endif
TOOLS_CFLAGS = -O2 -g $(CFLAGS) $(SANITIZE)
TOOLS = tools/timeline tools/peak tools/freeport
# The timeline client, in its layers (timeline.c's opening comment).
TIMELINE_SRCS = tools/clock.c tools/conn.c tools/svg.c tools/parse.c \
    tools/fire.c tools/summary.c tools/stream.c tools/hold.c \
    tools/figures.c tools/draw.c tools/stream_draw.c tools/stream_main.c \
    tools/timeline.c

# The numbers of the steps, from the step folders (step3-thread-pool: 3).
STEP_NUMBERS = $(patsubst step%,%,$(foreach s,$(STEPS),$(firstword \
    $(subst -, ,$(s)))))

tools/timeline: $(TIMELINE_SRCS) $(wildcard tools/*.h)
	$(CC) $(TOOLS_WARN) $(TOOLS_CFLAGS) -o $@ $(TIMELINE_SRCS) -lm

tools/peak: tools/peak.c tools/parse.c tools/parse.h
	$(CC) $(TOOLS_WARN) $(TOOLS_CFLAGS) -o $@ tools/peak.c tools/parse.c

tools/freeport: tools/freeport.c
	$(CC) $(TOOLS_WARN) $(TOOLS_CFLAGS) -o $@ $<

timeline: $(TOOLS)

# make race: the data race of tools/race.c, shown live before step 3's
# mutex. Each version runs twice, without and with the mutex: once
# built plainly (the lost updates), once under ThreadSanitizer (the
# report for the racy run, silence for the locked one).
RACE_CC = $(firstword $(shell command -v clang gcc 2>/dev/null) cc)
tools/race: tools/race.c
	$(CC) $(TOOLS_WARN) -O2 -g $(CFLAGS) -pthread -o $@ $<

tools/race-tsan: tools/race.c
	$(RACE_CC) $(TOOLS_WARN) -O1 -g -fsanitize=thread -pthread -o $@ $<

race: tools/race tools/race-tsan
	@echo '--- plain build: the total comes out short'
	@tools/race
	@tools/race -l
	@echo '--- under ThreadSanitizer (-fsanitize=thread)'
	@TSAN_OPTIONS=exitcode=0 tools/race-tsan 2>&1 | \
	    grep -E 'WARNING|SUMMARY|counter|lost' || true
	@TSAN_OPTIONS=exitcode=0 tools/race-tsan -l 2>&1 | \
	    grep -E 'WARNING|SUMMARY|counter|lost' || true

# make demo STEP=n: watch step n serve the standard scenarios.
demo: $(TOOLS)
	@test -n "$(STEP)" && test -n "$(call step_dir,$(STEP))" || { \
	    echo "usage: make demo STEP=n, n one of: $(STEP_NUMBERS)"; \
	    exit 2; }
	$(MAKE) -C $(call step_dir,$(STEP))
	@tools/demo.sh $(call step_dir,$(STEP))

# tools_need COMMAND PACKAGE: installs the Debian package when the
# command is missing (apt-get; sudo unless we are root).
define tools_need
	@command -v $(1) >/dev/null 2>&1 || test -x /usr/sbin/$(1) || { \
	    command -v apt-get >/dev/null 2>&1 || \
	        { echo "bench: $(1) is missing; please install $(2)"; \
	          exit 1; }; \
	    sudo=; test "$$(id -u)" = 0 || sudo=sudo; \
	    echo "bench: installing $(2) with apt-get"; \
	    $$sudo apt-get install -y $(2) || { $$sudo apt-get update && \
	        $$sudo apt-get install -y $(2); }; }
endef

# make bench: a few minutes, prints a table, writes only bench/out/.
# make bench-report: the full run (about 40 minutes); rewrites the
# checked-in bench/README.md, its pictures and the top-level README's
# bench block. Both measure nginx too unless REF= is given. The knobs
# (BENCH_ROUNDS, BENCH_PARTS, ...): tools/bench.sh, tools/README.md.
REF ?= nginx
bench: $(TOOLS) $(STEPS)
	$(call tools_need,wrk,wrk)
ifeq ($(REF),nginx)
	$(call tools_need,nginx,nginx-light)
endif
	@BENCH_MODE=quick REF="$(REF)" tools/bench.sh $(STEPS)

bench-report: $(TOOLS) $(STEPS)
	$(call tools_need,wrk,wrk)
ifeq ($(REF),nginx)
	$(call tools_need,nginx,nginx-light)
endif
	@BENCH_MODE=report REF="$(REF)" tools/bench.sh $(STEPS)

help::
	@echo "make race            a data race, lost updates and TSan, live"
	@echo "make timeline        build the timeline client (tools/timeline)"
	@echo "make demo STEP=n     watch step n serve slow-mix, sleepers, idle"
	@echo "make bench           every step and nginx in 3 min: a table;" \
	    "writes bench/out/"
	@echo "make bench-report    the full run (40 min); rewrites" \
	    "bench/README.md, README.md"
	@echo "  REF= leaves nginx out; BENCH_ROUNDS, BENCH_PARTS ...:" \
	    "tools/README.md"

.PHONY: timeline demo bench bench-report race

clean::
	rm -f $(TOOLS) tools/race tools/race-tsan
