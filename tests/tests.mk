# tests/tests.mk - the shared behaviour suite, included by ../Makefile
# and run from the repository root.
#
# One suite (tests/*.c, Criterion) is built once per step, against that
# step's http.c, http_parse.c, io.c and pool.c, and run against that
# step's server.
# tests/expect.c says what each step is expected to do.
#
# Whatever the test targets build carries the compiler's name, so that
# changing CC builds everything anew instead of reusing what another
# compiler made: `make asan CC=clang` after `make asan` gives
#   tests/build/clang/<step>/suite-asan    the suite, built by clang
#   <step>/server-asan-clang               the server, built by clang
# next to tests/build/cc/... and server-asan-cc (cc: make's default).
# Only ./server, the one you run by hand, keeps its plain name: `make`
# builds it, and `make test` runs it.

TEST_OUT := tests/build
CC_NAME = $(notdir $(firstword $(CC)))
TEST_BUILD = $(TEST_OUT)/$(CC_NAME)
TEST_STEPS = $(if $(STEP),$(call step_dir,$(STEP)),$(STEPS))
TEST_JOBS ?= 8
TEST_ARGS ?=
TEST_WARN = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic \
    $(if $(WERROR),-Werror)
TEST_CFLAGS ?= -O1 -g
TEST_SRCS := tests/main.c tests/harness.c tests/client.c tests/expect.c
TEST_CASES := $(filter-out tests/test_pool.c tests/test_pool_stop.c,\
    $(wildcard tests/test_*.c))
# The white-box pool tests, for a step with pool.c; those of a pool
# that stops, for a step whose pool.h declares pool_stop(). $(1) step
pool_tests = $(if $(wildcard $(1)/pool.c),tests/test_pool.c $(1)/pool.c \
    $(if $(shell grep -l pool_stop $(1)/pool.h 2>/dev/null),\
        tests/test_pool_stop.c))
TEST_HEADERS := $(wildcard tests/*.h)
ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer
TSAN_FLAGS = -fsanitize=thread
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET := $(strip $(SUDO) apt-get)
# step3-thread-pool -> 3
step_number = $(patsubst step%,%,$(firstword $(subst -, ,$(1))))

# ---- Building: one suite per step (and per sanitizer) ----

# $(1) step folder, $(2) name suffix, $(3) extra compiler flags
define TEST_SUITE_RULE
$(TEST_BUILD)/$(1)/suite$(2): $(TEST_SRCS) $(TEST_CASES) tests/test_pool.c \
    tests/test_pool_stop.c $(TEST_HEADERS) $(wildcard $(1)/*.[ch]) | criterion
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_WARN) $$(TEST_CFLAGS) $(3) \
	    -DSTEP=$(call step_number,$(1)) -Itests -I$(1) \
	    $$$$(pkg-config --cflags criterion) -o $$@ \
	    $(TEST_SRCS) $(TEST_CASES) $(1)/http.c $(1)/http_parse.c \
	    $(1)/io.c $(call pool_tests,$(1)) \
	    $$$$(pkg-config --libs criterion)
endef

# The pool's stress program, for ThreadSanitizer. $(1) step folder
define TEST_STRESS_RULE
$(TEST_BUILD)/$(1)/pool_stress-tsan: tests/pool_stress.c $(1)/pool.c $(1)/pool.h
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_WARN) -O1 -g $(TSAN_FLAGS) \
	    -DSTEP=$(call step_number,$(1)) -I$(1) -o $$@ \
	    tests/pool_stress.c $(1)/pool.c -pthread
endef
$(foreach s,$(STEPS),$(eval $(call TEST_SUITE_RULE,$(s),,)))
$(foreach s,$(STEPS),$(eval $(call TEST_SUITE_RULE,$(s),-asan,$(ASAN_FLAGS))))
$(foreach s,$(STEPS),$(eval $(call TEST_STRESS_RULE,$(s))))

# ---- Criterion: installed if missing ----

criterion:
	@if pkg-config --exists criterion 2>/dev/null; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1; then \
	    echo "make test: Criterion is missing; installing it:"; \
	    echo "  $(APT_GET) update && $(APT_GET) install -y libcriterion-dev pkg-config"; \
	    $(APT_GET) update -q && \
	    $(APT_GET) install -y -q libcriterion-dev pkg-config || exit 1; \
	elif command -v brew >/dev/null 2>&1; then \
	    echo "make test: Criterion is missing; installing it:"; \
	    echo "  brew install criterion pkg-config"; \
	    brew install criterion pkg-config || exit 1; \
	else \
	    echo "make test: the tests need Criterion (a C test library)."; \
	    echo "Install it with your package manager, e.g.:"; \
	    echo "  dnf install criterion-devel   (Fedora)"; \
	    echo "  yay -S criterion              (Arch: the AUR)"; \
	    echo "or from https://github.com/Snaipe/Criterion, then run"; \
	    echo "make test again."; \
	    exit 1; \
	fi; \
	pkg-config --exists criterion || { \
	    echo "make test: Criterion installed, but pkg-config cannot" \
	        "find it (is pkg-config installed?)"; exit 1; }

# ---- Running ----

# Runs the suite of every step in TEST_STEPS and prints one synthesis
# line per step; a failing step's whole output is printed above them.
# $(1) suite suffix (-asan), $(2) server name (server-asan-clang),
# $(3) environment, $(4) Criterion arguments
define TEST_RUN
	@fail=0; summary=""; \
	for d in $(TEST_STEPS); do \
	    name=$$d/$(2); out=$(TEST_BUILD)/$$d-$(2).out; \
	    logs=$(TEST_BUILD)/logs/$$d-$(2); mkdir -p $$logs; \
	    echo "== $$name: running the suite"; \
	    env $(3) TEST_SERVER=$$name TEST_LOG_DIR=$$logs \
	        $(TEST_BUILD)/$$d/suite$(1) -j$(TEST_JOBS) $(4) $(TEST_ARGS) \
	        >$$out 2>&1; \
	    rc=$$?; \
	    line=$$(grep 'Synthesis' $$out | tail -n 1 | sed 's/.*Synthesis: //'); \
	    if [ $$rc -ne 0 ]; then \
	        cat $$out; fail=1; line="FAILED (status $$rc) $$line"; \
	    fi; \
	    summary="$$summary$$(printf '%-44s %s' "$$name" "$$line")\n"; \
	done; \
	printf "$$summary"; \
	exit $$fail
endef

test-build: $(foreach s,$(TEST_STEPS),$(TEST_BUILD)/$(s)/suite)
	@test -n "$(TEST_STEPS)" || { echo "make: no step $(STEP)"; exit 2; }
	@for d in $(TEST_STEPS); do $(MAKE) -s -C $$d || exit 1; done

test: criterion test-build
	$(call TEST_RUN,,server,TEST_SLOW=1,)

# ---- Sanitizers and valgrind ----

# Servers built as server-asan-<cc>; the suite too (suite-asan). The
# suite's own leak check is off (Criterion's runtime keeps memory to
# the end); the servers' is on, which matters for step 4, the one that
# exits.
asan: criterion $(foreach s,$(TEST_STEPS),$(TEST_BUILD)/$(s)/suite-asan)
	@for d in $(TEST_STEPS); do \
	    $(MAKE) -s -C $$d OUT=server-asan-$(CC_NAME) CFLAGS="-O1 -g" \
	        SANITIZE="$(ASAN_FLAGS)" || exit 1; done
	$(call TEST_RUN,-asan,server-asan-$(CC_NAME),TEST_SLOW=3 \
	    ASAN_OPTIONS=detect_leaks=0 \
	    SERVER_ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1,)

# Servers of the threaded steps built as server-tsan-<cc>, under the
# normal suite (a TSan build of Criterion aborts), then the pool's
# stress program, built with TSan, for every step that has a pool.
TSAN_STEPS = $(filter-out $(call step_dir,1),$(TEST_STEPS))
tsan: criterion $(foreach s,$(TSAN_STEPS),$(TEST_BUILD)/$(s)/suite \
        $(if $(wildcard $(s)/pool.c),$(TEST_BUILD)/$(s)/pool_stress-tsan))
	@for d in $(TSAN_STEPS); do \
	    $(MAKE) -s -C $$d OUT=server-tsan-$(CC_NAME) CFLAGS="-O1 -g" \
	        SANITIZE="$(TSAN_FLAGS)" || exit 1; done
	@for d in $(TSAN_STEPS); do \
	    if [ -f $(TEST_BUILD)/$$d/pool_stress-tsan ]; then \
	        echo "== $$d: pool_stress under ThreadSanitizer"; \
	        TSAN_OPTIONS=halt_on_error=1 \
	            $(TEST_BUILD)/$$d/pool_stress-tsan || exit 1; \
	    fi; done
	$(MAKE) -s test-run-tsan TEST_STEPS="$(TSAN_STEPS)"

test-run-tsan:
	$(call TEST_RUN,,server-tsan-$(CC_NAME),TEST_SLOW=3 TEST_RUNTIME_THREADS=1 \
	    SERVER_TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1,)

# Each server runs under valgrind (memcheck, descriptors tracked); the
# harness reads valgrind's summary when the server stops. Timing tests
# are left out: under valgrind nothing runs at its real speed. The
# grace-period cuts are in (their bound is G plus a slack that grows
# with TEST_SLOW): what a cut frees and closes matters. The second
# signal's _Exit(1) is not, as it leaves memory behind on purpose.
# The servers are built as server-valgrind-<cc> with DWARF 4 debug
# info, which valgrind 3.19 reads whichever compiler made it.
VALGRIND_TESTS = @(routes/*|conformance/*|robust/*|process/*|shutdown/sigterm_when_idle*|shutdown/*_cut_when_the_grace_period_ends)
valgrind: criterion test-build
	@command -v valgrind >/dev/null || { \
	    echo "make valgrind: install valgrind first"; exit 1; }
	@for d in $(TEST_STEPS); do \
	    $(MAKE) -s -C $$d OUT=server-valgrind-$(CC_NAME) \
	        CFLAGS="-O1 -g -gdwarf-4" || exit 1; done
	$(call TEST_RUN,,server-valgrind-$(CC_NAME),TEST_VALGRIND=1 TEST_SLOW=10,\
	    --filter '$(VALGRIND_TESTS)')

# ---- A second C library: musl ----

# Every step built with musl-gcc (Debian: musl-tools), warnings as
# errors, as server-musl; then the normal suite runs against those
# servers. The suite stays a glibc program (Criterion needs one): it
# is only a client over TCP, so the server's C library is free.
MUSL_CC ?= musl-gcc
musl: criterion $(foreach s,$(TEST_STEPS),$(TEST_BUILD)/$(s)/suite)
	@command -v $(MUSL_CC) >/dev/null || { \
	    echo "make musl: needs $(MUSL_CC): apt-get install musl-tools"; \
	    exit 1; }
	@for d in $(TEST_STEPS); do \
	    $(MAKE) -s -C $$d CC=$(MUSL_CC) WERROR=1 OUT=server-musl \
	        || exit 1; done
	$(call TEST_RUN,,server-musl,TEST_SLOW=1,)

# ---- The steps' own discipline ----

# The HTTP layer is byte-identical in every step, and each step changes
# only the files its lesson needs (a + marks a file it may add).
CHECK_SAME = http.c http.h http_parse.c http_parse.h io.c io.h net.c net.h
CHECK_ALLOW_2 = server.c Makefile
CHECK_ALLOW_3 = server.c server.h main.c config.h Makefile +pool.c +pool.h
CHECK_ALLOW_4 = server.c server.h main.c config.h pool.c pool.h Makefile \
    +stop.c +stop.h +conns.c +conns.h +drain.c +drain.h
# Step 5 keeps step 4's stop.c, conns.c, main.c and server.h as they
# are: the loop is new, and drain.c says what a stop does with it.
CHECK_ALLOW_5 = server.c config.h pool.c pool.h drain.c drain.h Makefile \
    +loop.c +loop.h +request.c +request.h +fdlimit.c +fdlimit.h
# A learner reads each make diff in one sitting: outside the files a
# step adds, at most this many lines change (+ and - lines counted).
CHECK_DIFF_MAX = 150
check-steps:
	@fail=0; first=$(firstword $(STEPS)); \
	for d in $(wordlist 2,99,$(STEPS)); do \
	    for f in $(CHECK_SAME); do \
	        cmp -s $$first/$$f $$d/$$f || { fail=1; \
	            echo "check-steps: $$d/$$f differs from $$first/$$f;" \
	                "the HTTP layer must be the same in every step"; }; \
	    done; \
	done; \
	prev=""; \
	for d in $(STEPS); do \
	    n=$$(echo $$d | sed 's/^step\([0-9]*\).*/\1/'); \
	    if [ -n "$$prev" ]; then \
	        case $$n in \
	        2) allow="$(CHECK_ALLOW_2)";; 3) allow="$(CHECK_ALLOW_3)";; \
	        4) allow="$(CHECK_ALLOW_4)";; 5) allow="$(CHECK_ALLOW_5)";; \
        *) allow="";; esac; \
	        changed=$$(diff -rq -x server -x 'server-*' -x '*.o' \
	            -x '*.dSYM' -x README.md $$prev $$d | sed \
	            -e "s|^Files $$prev/\([^ ]*\) and .*|\1|" \
	            -e "s|^Only in $$d: \(.*\)|+\1|" \
	            -e "s|^Only in $$prev: \(.*\)|-\1|"); \
	        for f in $$changed; do \
	            case " $$allow " in *" $$f "*) ;; *) fail=1; \
	                echo "check-steps: $$prev -> $$d changes $$f, which" \
	                    "is not on step $$n's list: $$allow";; esac; \
	        done; \
	        echo "check-steps: $$prev -> $$d changes:" $$changed; \
	        lines=$$(diff -ru -x server -x 'server-*' -x '*.o' \
	            -x '*.dSYM' -x README.md $$prev $$d | awk \
	            '/^(\+\+\+|---) /{next} /^[-+]/{n++} END{print n+0}'); \
	        if [ $$lines -gt $(CHECK_DIFF_MAX) ]; then fail=1; \
	            echo "check-steps: $$prev -> $$d changes $$lines lines" \
	                "outside its new files, more than $(CHECK_DIFF_MAX):" \
	                "move the new idea into a file named after it"; \
	        else echo "check-steps: $$prev -> $$d changes $$lines lines" \
	            "outside its new files (at most $(CHECK_DIFF_MAX))"; fi; \
	    fi; \
	    prev=$$d; \
	done; \
	if [ $$fail = 0 ]; then echo "check-steps: ok"; fi; exit $$fail

# ---- Mutants: the suite must catch each of these bugs ----

mutants: criterion
	tests/run-mutants $(if $(MUTANT),$(MUTANT))

# ---- Neighbours: each step's suite must fail on the steps beside it ----

neighbours: criterion test-build
	TEST_BUILD=$(TEST_BUILD) tests/run-neighbours $(STEPS)

help::
	@echo "make test            build every step and run the shared suite"
	@echo "make test STEP=3     the suite against step 3 only"
	@echo "make asan            the suite with ASan+UBSan servers and suite"
	@echo "make asan CC=clang   the same, servers and suite built by clang"
	@echo "make tsan            the suite with TSan servers, plus pool_stress"
	@echo "make valgrind        black-box tests with servers under valgrind"
	@echo "make musl            musl-gcc -Werror builds, the suite against them"
	@echo "make check-steps     HTTP layer identical; step diffs on their lists"
	@echo "make mutants         break the steps on purpose; the suite must fail"
	@echo "make neighbours      each step's suite must fail on the next and"
	@echo "                     previous step's server, naming its lesson"

.PHONY: criterion test test-build asan tsan test-run-tsan valgrind musl \
    check-steps mutants neighbours
