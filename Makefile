# forkaudit: `make` builds build/libforkaudit.so; `make check` builds and runs every test;
# `make bench` prints audited/plain overhead ratios.

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    := build
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread

# --- dependencies, found with pkg-config ------------------------------------------------
need = $(if $(shell pkg-config --exists $(1) && echo ok),,$(error $(1) not found by pkg-config: \
        install the Debian package $(2) (apt-get install $(2))))

UNWIND_CFLAGS = $(shell pkg-config --cflags libunwind)
UNWIND_LIBS   = $(shell pkg-config --libs libunwind)
TEST_CFLAGS   = $(shell pkg-config --cflags cmocka jansson)
TEST_LIBS     = $(shell pkg-config --libs cmocka jansson)

# --- the library ------------------------------------------------------------------------
# preload/ has one folder a stage. Data flows intercept/ -> audit/ -> findings/ -> out/;
# includes and calls go down the stages, each using only the ones before it:
#   base/ (options, formatting, /proc, signals, backtraces) < track/ (what the wrappers
#   keep) < audit/snapshot.{h,c} (the snapshot: what audit/ produces, findings/ reads) <
#   out/ (write: log, symbolize, suppress) < findings/ (judge, render) < audit/ (the
#   moments the auditor looks, the fork protocol) < intercept/ (the wrappers,
#   real-function resolution, start-up). `make lint` checks it (tests/lint/layers.py).
# The core (every folder but intercept/) is plain C, unit-tested without preloading, and
# links alone (test_core_alone).
CORE_DIRS := base track audit findings out
CORE_SRCS := $(sort $(foreach d,$(CORE_DIRS),$(wildcard preload/$(d)/*.c)))
PRELOAD_SRCS := $(sort $(wildcard preload/intercept/*.c))
LIB_HDRS := $(wildcard preload/*/*.h preload/*/*.def)
CORE_OBJS := $(CORE_SRCS:preload/%.c=$(BUILD)/obj/%.o)
PRELOAD_OBJS := $(PRELOAD_SRCS:preload/%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libforkaudit.so
CORE_LIB := $(BUILD)/libforkaudit-core.a

all: $(LIB)

$(BUILD)/obj/%.o: preload/%.c $(LIB_HDRS) include/forkaudit.h | deps-lib
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipreload -fPIC -fvisibility=hidden $(UNWIND_CFLAGS) -c $< -o $@

# -z now: every PLT entry of ours is bound at load time, never lazily inside a signal
# handler or between fork and exec. -z nodelete: a dlclose never unmaps the library, whose
# exit handler (exitcode), atfork and signal handlers stay registered.
$(LIB): $(CORE_OBJS) $(PRELOAD_OBJS)
	$(CC) $(CFLAGS) -shared -pthread -Wl,-z,now -Wl,-z,nodelete -Wl,-z,noseparate-code -Wl,--no-undefined -o $@ $^ $(UNWIND_LIBS) -ldl

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

deps-lib:
	$(call need,libunwind,libunwind-dev)
deps-test:
	$(call need,cmocka,libcmocka-dev)
	$(call need,jansson,libjansson-dev)

# --- tests ------------------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/test_*.c))
TEST_PROGS := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.c)) \
    $(patsubst tests/progs/%.cc,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.cc)) \
    $(BUILD)/tests/progs/cxx_lock_wrappers_O0
TEST_LIBS_SO := $(patsubst tests/progs/lib/%.c,$(BUILD)/tests/progs/%.so,$(wildcard tests/progs/lib/*.c))

$(BUILD)/tests/test_%: tests/unit/test_%.c $(CORE_LIB) | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipreload -DFA_SOURCE_DIR=\"$(CURDIR)\" $(TEST_CFLAGS) $< -o $@ $(CORE_LIB) $(TEST_LIBS) $(UNWIND_LIBS) -ldl

# The core archive alone: linked whole, without the interposers, it must leave no symbol
# undefined (a core object that needs an interposer's fails this link, and make check).
$(BUILD)/tests/test_core_alone: tests/unit/test_core_alone.c $(CORE_LIB) | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipreload $(TEST_CFLAGS) $< -o $@ -Wl,--whole-archive $(CORE_LIB) -Wl,--no-whole-archive \
	    $(TEST_LIBS) $(UNWIND_LIBS) -ldl

# -Ipreload: tests read the library's tables (track/locks.def, intercept/real.h).
$(BUILD)/tests/test_%: tests/integration/test_%.c tests/integration/harness.c tests/integration/harness.h $(LIB_HDRS) | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ipreload -DFA_BUILD_DIR=\"$(abspath $(BUILD))\" -DFA_SOURCE_DIR=\"$(CURDIR)\" $(TEST_CFLAGS) $< tests/integration/harness.c -o $@ $(TEST_LIBS)

# Libraries without unwind tables or frame pointers, as optimised code from elsewhere may
# be: the unwinder must stop cleanly in them.
$(BUILD)/tests/progs/nounwind_%.so: tests/progs/lib/nounwind_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 -g0 -fomit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables -fPIC -shared $< -o $@

# Test programs: no optimisation and frame pointers so their frames are easy to name.
$(BUILD)/tests/progs/%.so: tests/progs/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O0 -fPIC -shared $< -o $@

# A program linked against one of those libraries (DT_NEEDED, found beside the program).
LINKED_LIB_atfork_protected := atfork_lib.so
LINKED_LIB_hostile_prog_ctor := hostile_ctor_lib.so

$(BUILD)/tests/progs/%: tests/progs/%.c tests/progs/progs.h $(TEST_LIBS_SO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O0 -fno-omit-frame-pointer $< -o $@ -L$(BUILD)/tests/progs \
	    $(if $(LINKED_LIB_$*),-l:$(LINKED_LIB_$*) -Wl$(comma)-rpath$(comma)'$$ORIGIN') -lutil

comma := ,

# C++ test programs (mangled names, std::mutex): -O2 so the standard library's inline
# wrappers fold into the program's own functions (CXXOPT_<prog> overrides: -O0 keeps
# them as frames); frame pointers as above.
CXX ?= g++
CXXOPT_cxx_two_locks := -O0
$(BUILD)/tests/progs/%: tests/progs/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(or $(CXXOPT_$*),-O2) -g -Wall -Wextra -Werror -std=c++17 -pthread -fno-omit-frame-pointer $< -o $@

# The same at -O0 (std::mutex::lock, lock_guard's constructor and __gthread_mutex_lock are
# then functions of their own: lock wrappers between the program's call and the lock).
$(BUILD)/tests/progs/%_O0: tests/progs/%.cc
	@mkdir -p $(dir $@)
	$(CXX) -O0 -g -Wall -Wextra -Werror -std=c++17 -pthread $< -o $@

# Test programs of third-party libraries, built only when the library is installed (the
# tests that run them skip with a message otherwise).
GLIB_CFLAGS := $(shell pkg-config --cflags glib-2.0 2>/dev/null)
GLIB_LIBS := $(shell pkg-config --libs glib-2.0 2>/dev/null)
GLIB_PROGS := $(if $(GLIB_LIBS),$(patsubst tests/progs-glib/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/progs-glib/*.c)))
$(BUILD)/tests/progs/%: tests/progs-glib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O0 -fno-omit-frame-pointer $(GLIB_CFLAGS) $< -o $@ $(GLIB_LIBS)

tests: $(LIB) $(UNIT_TESTS) $(INTEGRATION_TESTS) $(TEST_PROGS) $(GLIB_PROGS)

check: tests
	@tests/run-tests.sh $(UNIT_TESTS) $(INTEGRATION_TESTS) "python3 tests/unit/test_kinds.py" \
	    "python3 tests/integration/test_launcher.py $(BUILD)" \
	    "python3 tests/integration/test_launcher_signals.py $(BUILD)" \
	    "python3 tests/integration/test_python_reports.py $(BUILD)" \
	    "python3 tests/integration/test_python_stdio.py $(BUILD)" \
	    "python3 tests/integration/test_python_rng.py $(BUILD)"

# Real Debian programs under the launcher (git, make, Python, redis, nginx, PostgreSQL,
# gunicorn: the corpus of issue 13), the findings judged in tests/real/run_corpus.py:
# 0 errors on correct programs, at most one warning in ten noise, the true ones found.
# A program not installed is skipped with a message; a few minutes in all.
check-real: $(LIB)
	python3 tests/real/run_corpus.py --build $(BUILD)

# The whole suite with the library, tests and test programs built with AddressSanitizer
# and UndefinedBehaviorSanitizer; the ASan runtime is preloaded before the library.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
check-asan:
	$(MAKE) BUILD=$(BUILD)/asan CFLAGS="$(SAN_FLAGS)" tests
	FORKAUDIT_TEST_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
	    tests/run-tests.sh $(BUILD)/asan/tests/test_*

# The unit tests under valgrind's memcheck.
check-valgrind: tests
	tests/run-tests.sh $(foreach t,$(UNIT_TESTS),"valgrind -q --error-exitcode=9 --leak-check=full --suppressions=tests/valgrind.supp $(t)")

# --- static checks: `make lint` ---------------------------------------------------------
# The layers of preload/ (tests/lint/layers.py: no include up a stage, no include loop;
# its allow-list names each violation left and who removes it), then cppcheck and
# clang-tidy over the library, the public header, the tests and the test programs, with
# zero findings. Configuration, each exception with its reason:
# .clang-tidy (tests/.clang-tidy and tests/progs/.clang-tidy relax it for tests),
# tests/lint/cppcheck.supp, tests/lint/forkaudit.cfg, and inline "cppcheck-suppress" and
# "NOLINT" comments. bench/ and examples/ are not checked.
CPPCHECK   ?= cppcheck
CLANG_TIDY ?= clang-tidy
CPPCHECK_FLAGS := -q --enable=warning,style,performance,portability --std=c11 -D_GNU_SOURCE \
    --library=posix --library=tests/lint/forkaudit.cfg --suppressions-list=tests/lint/cppcheck.supp \
    --inline-suppr --error-exitcode=1 --template='{file}:{line}: {severity} [{id}] {message}'
# The compile flags the Makefile uses for each group of files.
TIDY_LIB_FLAGS   = -std=gnu11 -D_GNU_SOURCE -pthread -Ipreload $(UNWIND_CFLAGS)
TIDY_UNIT_FLAGS  = -std=gnu11 -D_GNU_SOURCE -pthread -Ipreload -DFA_SOURCE_DIR=\".\" $(TEST_CFLAGS) -include tests/lint/cmocka_noreturn.h
TIDY_INTEG_FLAGS = -std=gnu11 -D_GNU_SOURCE -pthread -Ipreload -DFA_BUILD_DIR=\"build\" -DFA_SOURCE_DIR=\".\" $(TEST_CFLAGS) \
                   -include tests/lint/cmocka_noreturn.h
TIDY_PROG_FLAGS  = -std=gnu11 -D_GNU_SOURCE -pthread
# Runs clang-tidy on each file of $(2) with flags $(1); fails after all when one failed.
# (The "N warnings generated" lines count what the configuration filtered out.)
tidy = fail=0; for f in $(2); do out=$$($(CLANG_TIDY) --quiet $$f -- $(1) 2>&1) || fail=1; \
    printf '%s\n' "$$out" | grep -v '^[0-9]* warnings* generated\.$$' || true; done; [ $$fail -eq 0 ]

lint: | deps-lib deps-test
	python3 tests/lint/layers.py preload
	$(CPPCHECK) $(CPPCHECK_FLAGS) -Ipreload preload include
	$(CPPCHECK) $(CPPCHECK_FLAGS) -Ipreload -DFA_SOURCE_DIR='"."' tests/unit $(wildcard tests/fuzz/*.c)
	$(CPPCHECK) $(CPPCHECK_FLAGS) -Ipreload -DFA_BUILD_DIR='"build"' -DFA_SOURCE_DIR='"."' tests/integration \
	    tests/progs tests/progs-glib
	@$(call tidy,$(TIDY_LIB_FLAGS),preload/*/*.c)
	@$(call tidy,-x c $(TIDY_LIB_FLAGS),include/forkaudit.h)
	@$(call tidy,$(TIDY_UNIT_FLAGS),tests/unit/*.c $(wildcard tests/fuzz/*.c))
	@$(call tidy,$(TIDY_INTEG_FLAGS),tests/integration/*.c)
	@$(call tidy,$(TIDY_PROG_FLAGS),tests/progs/*.c tests/progs/lib/*.c)
	@$(if $(GLIB_CFLAGS),$(call tidy,$(TIDY_PROG_FLAGS) $(patsubst -I%,-isystem %,$(GLIB_CFLAGS)),tests/progs-glib/*.c))
	@echo "lint: layers, cppcheck and clang-tidy found nothing"

# --- fuzzing: `make fuzz` ---------------------------------------------------------------
# libFuzzer targets for the option parser and the suppression rule parser (tests/fuzz/),
# built with clang and ASan+UBSan, FUZZ_SECONDS each (two targets: within a minute), from
# the committed seed corpora; what they add goes to $(BUILD)/fuzz/corpus-*, a failing
# input to $(BUILD)/fuzz/crash-* (replay: $(BUILD)/fuzz/fuzz_NAME FILE).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 25
FUZZ_FLAGS   := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/libforkaudit-core.a: $(CORE_SRCS) $(LIB_HDRS) | deps-lib
	$(MAKE) BUILD=$(BUILD)/fuzz CC=$(FUZZ_CC) CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libforkaudit-core.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread -Ipreload $< -o $@ \
	    $(BUILD)/fuzz/libforkaudit-core.a $(UNWIND_LIBS) -ldl

fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do name=$${t##*/fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$name; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 \
	        -dict=tests/fuzz/$$name.dict -artifact_prefix=$(BUILD)/fuzz/ \
	        $(BUILD)/fuzz/corpus-$$name tests/fuzz/corpus-$$name 2>$(BUILD)/fuzz/$$name.log \
	    || { tail -n 60 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	    grep -E '^(Done|stat::number_of_executed_units)' $(BUILD)/fuzz/$$name.log; done

# --- examples (`make demo` is the README's main command) -----------------------------------
$(BUILD)/examples/%: examples/c/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $< -o $@

examples: $(LIB) $(patsubst examples/c/%.c,$(BUILD)/examples/%,$(wildcard examples/c/*.c))

demo: examples
	@examples/demo.sh

# --- benchmark --------------------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 $< -o $@ -lm

$(BUILD)/bench/empty.so: bench/empty.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 $< -o $@

# The same empty library, but loading libunwind as the auditor does: a second baseline.
$(BUILD)/bench/empty-unwind.so: bench/empty.c | deps-lib
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 $< -o $@ -Wl,--no-as-needed $(UNWIND_LIBS)

# compare: the micro-benchmarks (lock pair, fork); workloads.py: real programs (threads on
# mutexes, bash, Python multiprocessing, redis) and their peak memory. BENCH_ROUNDS sets
# the rounds of both, BENCH_ONLY the real workloads to run.
BENCH_BINS := $(BUILD)/bench/workload $(BUILD)/bench/compare $(BUILD)/bench/empty.so $(BUILD)/bench/empty-unwind.so
bench: $(LIB) $(BENCH_BINS)
	$(BUILD)/bench/compare $(LIB) $(BUILD)/bench/empty.so $(BUILD)/bench/workload $(BUILD)/bench/empty-unwind.so
	python3 bench/workloads.py $(BUILD)

# --- install ----------------------------------------------------------------------------
# The library goes to $(libdir) (default $(PREFIX)/lib = /usr/local/lib), a directory of
# the dynamic linker's: after ldconfig, LD_PRELOAD=libforkaudit.so finds it by name (a
# name without '/' in LD_PRELOAD is looked up as a DT_NEEDED one: ld.so.cache, then /lib
# and /usr/lib). `make install` runs ldconfig when it installs into the live system as
# root (no DESTDIR), and says so otherwise. The launcher's Python modules live in
# $(PREFIX)/lib/forkaudit; the launcher in $(PREFIX)/bin finds them and the library from
# its own directory (../lib/forkaudit, ../lib). `make uninstall` removes every file
# `make install` put there.
libdir  ?= $(PREFIX)/lib
LIBDIR   = $(libdir)
PYDIR    = $(PREFIX)/lib/forkaudit
MANDIR   = $(PREFIX)/share/man
LDCONFIG ?= ldconfig

install: $(LIB)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PYDIR)/forkaudit_lib
	install -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/libforkaudit.so
	install -m 0755 tools/forkaudit $(DESTDIR)$(PREFIX)/bin/forkaudit
	install -m 0644 tools/forkaudit_lib/*.py $(DESTDIR)$(PYDIR)/forkaudit_lib/
	install -m 0644 include/forkaudit.h $(DESTDIR)$(PREFIX)/include/forkaudit.h
	for page in docs/*.[1-9]; do [ -f "$$page" ] || continue; \
	    section=$${page##*.}; install -d $(DESTDIR)$(MANDIR)/man$$section && \
	    install -m 0644 $$page $(DESTDIR)$(MANDIR)/man$$section/; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then $(LDCONFIG) && \
	    echo "install: $(LIBDIR)/libforkaudit.so (ldconfig run: LD_PRELOAD=libforkaudit.so finds it)"; \
	else echo "install: $(DESTDIR)$(LIBDIR)/libforkaudit.so; run ldconfig (as root) on the target system" \
	    "so that LD_PRELOAD=libforkaudit.so finds it, or give LD_PRELOAD=$(LIBDIR)/libforkaudit.so"; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libforkaudit.so $(DESTDIR)$(PREFIX)/bin/forkaudit
	rm -rf $(DESTDIR)$(PYDIR)/forkaudit_lib
	rm -f $(DESTDIR)$(PREFIX)/include/forkaudit.h
	for page in docs/*.[1-9]; do [ -f "$$page" ] || continue; \
	    rm -f $(DESTDIR)$(MANDIR)/man$${page##*.}/$${page##*/}; done
	-rmdir $(DESTDIR)$(PYDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then $(LDCONFIG); fi

clean:
	rm -rf $(BUILD)

.PHONY: all check check-real check-asan check-valgrind lint fuzz tests bench clean deps-lib deps-test examples demo install uninstall
.SECONDARY:
