# exercises/exercises.mk - build it yourself: `make exercise` and
# `make check`, and the proof that the grader is right. Included by the
# top-level Makefile and run from the repository root.
#
#   make exercise STEP=3 [FILL=1] [FRESH=1] [WORKBENCH=path]
#   make exercise EXERCISE=stats
#   make check STEP=3 [DIR=path]      make check EXERCISE=stats
#   make exercises-check

WORKBENCH ?= workbench
GRADE_TIMEOUT ?= 20

exercise:
	@sh exercises/exercise.sh STEP="$(STEP)" EXERCISE="$(EXERCISE)" \
	    FILL="$(FILL)" FRESH="$(FRESH)" WORKBENCH="$(WORKBENCH)"

check: criterion
	@sh exercises/grade.sh $(if $(STEP),STEP="$(STEP)") \
	    $(if $(EXERCISE),EXERCISE="$(EXERCISE)") \
	    $(if $(DIR),DIR="$(DIR)") WORKBENCH="$(WORKBENCH)" \
	    TIMEOUT="$(GRADE_TIMEOUT)" CC="$(CC)"

exercises-check: criterion
	@CC="$(CC)" sh exercises/selfcheck.sh

# The suite, built by exercises/grade.sh against a learner's folder:
# the step's expectations (-DSTEP), the folder's HTTP layer and io.c,
# the pool's white-box tests GRADE_WHITE_BOX (tests/test_pool*.c) with
# the folder's pool.c, and an extension's tests.c.
GRADE_LINK = $(wildcard $(addprefix $(GRADE_DIR)/,http.c http_parse.c io.c))
grade-suite:
	@test -n "$(GRADE_DIR)" && test -n "$(GRADE_STEP)" || { \
	    echo "usage: make grade-suite GRADE_DIR=path GRADE_STEP=N"; \
	    exit 2; }
	@mkdir -p $(dir $(or $(GRADE_SUITE),tests/build/grade/suite))
	$(CC) $(TEST_WARN) $(TEST_CFLAGS) -DSTEP=$(GRADE_STEP) \
	    -DTEST_TIMEOUT_S=$(GRADE_TIMEOUT) -Itests -I$(GRADE_DIR) \
	    $$(pkg-config --cflags criterion) \
	    -o $(or $(GRADE_SUITE),tests/build/grade/suite) \
	    $(TEST_SRCS) $(filter-out tests/test_pool%,$(TEST_CASES)) \
	    $(GRADE_EXTRA) $(GRADE_LINK) \
	    $(if $(strip $(GRADE_WHITE_BOX)),$(GRADE_WHITE_BOX) \
	        $(GRADE_DIR)/pool.c) \
	    $$(pkg-config --libs criterion)
	-@p=$(dir $(GRADE_EXTRA))preload.c; [ -z "$(GRADE_EXTRA)" ] || \
	    [ ! -f $$p ] || $(CC) -shared -fPIC -O1 -o \
	    $(or $(GRADE_SUITE),tests/build/grade/suite)-preload.so $$p \
	    -ldl 2>/dev/null || true

help::
	@echo "make exercise STEP=3 write step 3 yourself: workbench/step3 + TASK.md"
	@echo "    FILL=1 (steps 3-5): only the core left to write; FRESH=1: start"
	@echo "    over (the old copy is moved aside); WORKBENCH=path: elsewhere"
	@echo "make exercise EXERCISE=stats   an extension exercise"
	@echo "make check STEP=3    grade workbench/step3 (DIR=path: any folder)"
	@echo "make check EXERCISE=stats      grade an extension exercise"
	@echo "make exercises-check prove the grader: wrong steps fail, right pass"

.PHONY: exercise check exercises-check grade-suite
