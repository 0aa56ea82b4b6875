# strata - build, test, demo and benchmark.
#
#   make          build ./strata and ./strata-gen-cluster
#   make demo     install missing packages, build, back up the example cluster
#   make test     install missing packages, build, run unit and end-to-end
#                 tests, then the unit tests again under ASan + UBSan
#   make bench    benchmarks side by side with restic and borg (slow)
#   make fuzz     build the libFuzzer targets (clang)
#
# Every .c file under engine/, fetch/ and fs/ goes into libstrata.a; the
# command line in tools/ links it into one binary; the cluster data set
# generator in tools/gen/ into another.  Objects live in build/
# (normal), build/san/ (ASan + UBSan) and build/tsan/ (ThreadSanitizer,
# built on demand only), so the variants coexist.

CC      ?= cc
PKGS    := fuse3 libzstd lmdb libcurl openssl liblz4 snappy zlib jansson inih libxxhash expat libisal
WARN    := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
OPT     ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = $(WARN) $(OPT) -I. $(PKG_CFLAGS) -DFUSE_USE_VERSION=35 -pthread
LDLIBS_ALL = $(PKG_LIBS) -lm -pthread
SANFLAGS   = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
TSANFLAGS  = -fsanitize=thread -O1 -fno-omit-frame-pointer

LIB_SRC  := $(sort $(wildcard engine/*/*.c fetch/*.c fs/*.c))
TOOL_SRC := $(sort $(wildcard tools/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
GEN_SRC  := $(filter-out tools/gen/gen_cluster.c,$(sort $(wildcard tools/gen/*.c)))

LIB_OBJ      := $(LIB_SRC:%.c=build/%.o)
TOOL_OBJ     := $(TOOL_SRC:%.c=build/%.o)
LIB_OBJ_SAN  := $(LIB_SRC:%.c=build/san/%.o)
TOOL_OBJ_SAN := $(TOOL_SRC:%.c=build/san/%.o)
LIB_OBJ_TSAN := $(LIB_SRC:%.c=build/tsan/%.o)
TOOL_OBJ_TSAN := $(TOOL_SRC:%.c=build/tsan/%.o)
GEN_OBJ      := $(GEN_SRC:%.c=build/%.o)
GEN_OBJ_SAN  := $(GEN_SRC:%.c=build/san/%.o)
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
UNIT_BIN_SAN := $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)

.PHONY: all deps test-deps bench-deps test unit unit-san e2e demo bench fuzz fuzz-smoke clean

all: strata strata-gen-cluster

deps:
	@sh tools/install-deps.sh build
test-deps:
	@sh tools/install-deps.sh test
bench-deps:
	@sh tools/install-deps.sh bench

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -MMD -MP -c $< -o $@

build/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(TSANFLAGS) -MMD -MP -c $< -o $@

build/libstrata.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/san/libstrata.a: $(LIB_OBJ_SAN)
	@rm -f $@
	ar rcs $@ $^

strata: $(TOOL_OBJ) build/libstrata.a
	$(CC) $(CFLAGS_ALL) -o $@ $(TOOL_OBJ) build/libstrata.a $(LDLIBS_ALL)

build/san/strata: $(TOOL_OBJ_SAN) build/san/libstrata.a
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $(TOOL_OBJ_SAN) build/san/libstrata.a $(LDLIBS_ALL)

build/tsan/libstrata.a: $(LIB_OBJ_TSAN)
	@rm -f $@
	ar rcs $@ $^

build/tsan/strata: $(TOOL_OBJ_TSAN) build/tsan/libstrata.a
	$(CC) $(CFLAGS_ALL) $(TSANFLAGS) -o $@ $(TOOL_OBJ_TSAN) build/tsan/libstrata.a $(LDLIBS_ALL)

strata-gen-cluster: build/tools/gen/gen_cluster.o $(GEN_OBJ) build/libstrata.a
	$(CC) $(CFLAGS_ALL) -o $@ build/tools/gen/gen_cluster.o $(GEN_OBJ) build/libstrata.a $(LDLIBS_ALL)

build/tests/%: tests/unit/%.c build/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(filter %.o,$^) build/libstrata.a $(LDLIBS_ALL) -lcmocka

build/san/tests/%: tests/unit/%.c build/san/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $< $(filter %.o,$^) build/san/libstrata.a $(LDLIBS_ALL) -lcmocka

# The generator's test runs the generator's own code.
build/tests/test_gen_cluster: $(GEN_OBJ)
build/san/tests/test_gen_cluster: $(GEN_OBJ_SAN)

# Unit tests run from the project root so they find ../shared/corpus.
unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

SAN_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

unit-san: $(UNIT_BIN_SAN)
	@$(SAN_ENV) sh tests/run-unit.sh $(UNIT_BIN_SAN)

# End-to-end tests drive the sanitized binary, so leaks and undefined
# behaviour in the real command paths fail the suite too.
e2e: strata build/san/strata strata-gen-cluster build/tests/hide_dirent.so
	@$(SAN_ENV) STRATA_BIN=$(CURDIR)/build/san/strata sh tests/run-e2e.sh

# A readdir() that misses a name, preloaded by test_backup_transient_files.
build/tests/hide_dirent.so: tests/e2e/hide_dirent.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -fPIC -o $@ $< -ldl

test: test-deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory e2e

demo: deps
	@$(MAKE) --no-print-directory strata
	@sh examples/demo.sh

bench: bench-deps
	@$(MAKE) --no-print-directory strata
	@sh bench/run.sh

# The library is compiled once with coverage instrumentation and the
# sanitizers; each target only links against it.
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := $(WARN) -O1 -g -I. $(PKG_CFLAGS) -DFUSE_USE_VERSION=35 -pthread \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LIB_OBJ_FUZZ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/libstrata.a: $(LIB_OBJ_FUZZ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%: fuzz/%.c build/fuzz/libstrata.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libstrata.a $(LDLIBS_ALL)

fuzz: test-deps $(FUZZ_BIN)

# Each fuzz target for 20 seconds from the project root (targets find
# ../shared/corpus there); the log of a failing run is shown.
fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  $$f -max_total_time=20 -artifact_prefix=build/fuzz/ build/fuzz/corpus-$$n >build/fuzz/$$n.log 2>&1 \
	    || { tail -50 build/fuzz/$$n.log; exit 1; }; \
	  echo "fuzz-smoke: $$n: $$(grep -o 'Done [0-9]* runs' build/fuzz/$$n.log)"; done

clean:
	rm -rf build strata strata-gen-cluster

-include $(shell find build -name '*.d' 2>/dev/null)
