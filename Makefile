# The workshop's top-level Makefile. `make help` lists what it does.
#
# Each step folder builds on its own (make -C step3-thread-pool); this
# file only drives them, and holds the checks that span all steps.
# Variables given on the command line (CC=clang, WERROR=1) reach every
# step's own Makefile.

STEPS := $(sort $(wildcard step[0-9]-*))
step_dir = $(firstword $(wildcard step$(1)-*))

.DEFAULT_GOAL := all

all: $(STEPS)

$(STEPS):
	$(MAKE) -C $@

# make step3: build step 3 and point ./server at it.
step%:
	@test -n "$(call step_dir,$*)" || { echo "no step $*"; exit 2; }
	$(MAKE) -C $(call step_dir,$*)
	ln -sf $(call step_dir,$*)/server server
	@echo "./server now runs $(call step_dir,$*)"

# make diff FROM=2 TO=3: what one step changes in the next. Each
# step's README.md says so in words; the diff shows the code. First
# the files the step adds or drops, each with the idea its opening
# comment names (read a new file whole); then the changes to the rest.
FROM ?= 1
TO ?= 2
diff:
	@a=$(call step_dir,$(FROM)); b=$(call step_dir,$(TO)); \
	for f in $$(ls $$b); do [ -e $$a/$$f ] || case $$f in *.c) \
	    h=$${f%.c}.h; [ -e $$b/$$h ] || h=; \
	    printf '%s adds %s: %s\n' $$b "$$f$${h:+, $$h}" \
	        "$$(sed -n '2{s/^ \* [^ ]* - //;s/\. .*/./;p;}' $$b/$$f)";; \
	    esac; done; \
	for f in $$(ls $$a); do [ -e $$b/$$f ] || case $$f in *.[ch]) \
	    printf '%s drops %s\n' $$b $$f;; esac; done; \
	diff -ru -x server -x 'server-*' -x '*.dSYM' -x README.md $$a $$b \
	    | grep -v '^Only in '; true

# Linux-only calls and macros that would break the build on macOS.
NOT_PORTABLE = INADDR_LOOPBACK|accept4|SOCK_CLOEXEC|MSG_NOSIGNAL|eventfd|signalfd|pipe2|prctl|sem_init|pthread_barrier|_GNU_SOURCE|_DARWIN_C_SOURCE
check-portable:
	@if grep -nE '$(NOT_PORTABLE)' $(addsuffix /*.[ch],$(STEPS)) \
	    $(addsuffix /Makefile,$(STEPS)); then \
	    echo "check-portable: Linux-only API above; use POSIX"; exit 1; \
	else echo "check-portable: steps use POSIX only"; fi

FORMATTED = $(wildcard step*/*.[ch] tests/*.[ch] tests/*/*.[ch] tools/*.[ch] \
    exercises/*/*.[ch] exercises/steps/*/*.[ch])
format:
	clang-format -i $(FORMATTED)
format-check:
	@clang-format --dry-run -Werror $(FORMATTED) && \
	    echo "format-check: all $(words $(FORMATTED)) files formatted"

clean::
	for d in $(STEPS); do $(MAKE) -C $$d clean; done
	rm -f server

help::
	@echo "make                 build every step"
	@echo "make step1 .. step5  build one step; ./server then runs it"
	@echo "make diff FROM=2 TO=3  what step 3 changes in step 2"
	@echo "make WERROR=1        build with warnings as errors"
	@echo "make check-portable  fail on Linux-only APIs in the steps"
	@echo "make format          apply .clang-format to all C files"
	@echo "make format-check    fail if any C file is not formatted"
	@echo "make clean           remove what was built"

.PHONY: all $(STEPS) diff check-portable format format-check clean help

# Tests, tools and slides each keep their targets beside their files.
-include tests/tests.mk tests/abuse.mk tests/macos.mk tools/tools.mk \
    slides/slides.mk \
    exercises/exercises.mk
