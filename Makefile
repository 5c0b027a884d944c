# mnemo - GNU Make build. `make` builds lib/libmnemo.{a,so} and bin/mnemo.
# Targets: all run test bench fuzz clean install setup check-style (see README.md).

CC      ?= cc
PREFIX  ?= /usr/local
O       := build
SANITIZE ?=

PKGS_LIB := sqlite3 libutf8proc libxxhash libcjson libpq hiredis libcurl
PKGS_BIN := libmicrohttpd

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -DMN_BUILDING -Iinclude -fPIC -fvisibility=hidden \
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
  -MMD -MP -g
OPT ?= -O2
CFLAGS ?=
comma := ,
ifeq ($(CI),true)
  CFLAGS_BASE += -Werror
endif
ifneq ($(SANITIZE),)
  CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=$(SANITIZE)
  O := build-$(subst $(comma),-,$(SANITIZE))
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_LIB) $(PKGS_BIN) 2>/dev/null)
LIBS_LIB   := $(shell pkg-config --libs $(PKGS_LIB) 2>/dev/null) -lstemmer -lpthread -lm
LIBS_BIN   := $(shell pkg-config --libs $(PKGS_BIN) 2>/dev/null)
ALL_CFLAGS := $(CFLAGS_BASE) $(OPT) $(PKG_CFLAGS) $(CFLAGS)

LIB_DIRS := core text index embed llm store memory context
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
BIN_SRC  := $(wildcard src/http/*.c src/mcp/*.c src/cmd/*.c)
SQL      := $(sort $(wildcard src/store/sql/*.sql))
GEN_SQL  := $(O)/gen/sql_migrations.c
PG_SQL   := $(sort $(wildcard src/store/sql/pg/*.sql))
GEN_PG_SQL := $(O)/gen/pg_migrations.c

LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o) $(O)/gen/sql_migrations.o $(O)/gen/pg_migrations.o
BIN_OBJ  := $(BIN_SRC:%.c=$(O)/%.o)

TEST_SRC := $(wildcard tests/unit/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(O)/%.o)

LIBA  := $(O)/lib/libmnemo.a
LIBSO := $(O)/lib/libmnemo.so
BIN   := bin/mnemo
ifneq ($(SANITIZE),)
  BIN := $(O)/bin/mnemo
endif

.PHONY: all run test test-long test-unit test-cli bench bench-retrieval bench-compression fuzz clean \
        install setup \
        check-style deps

all: $(LIBA) $(LIBSO) $(BIN)

# SIMD kernels get their own instruction sets; the CPU check happens at run time.
$(O)/src/index/kernels_avx2.o: ALL_CFLAGS += -mavx2 -mfma
$(O)/src/index/kernels_avx512.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(GEN_SQL): $(SQL) scripts/embed-sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql $(SQL) > $@.tmp && mv $@.tmp $@

$(O)/gen/sql_migrations.o: $(GEN_SQL)
	$(CC) $(ALL_CFLAGS) -Isrc/store -c $< -o $@

$(GEN_PG_SQL): $(PG_SQL) scripts/embed-sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql --array mn__pg_migrations $(PG_SQL) > $@.tmp && mv $@.tmp $@

$(O)/gen/pg_migrations.o: $(GEN_PG_SQL)
	$(CC) $(ALL_CFLAGS) -Isrc/store -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(LIBS_LIB)

$(BIN): $(BIN_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(BIN_OBJ) $(LIBA) $(LDFLAGS) $(LIBS_BIN) $(LIBS_LIB)

$(O)/test-unit: $(TEST_OBJ) $(LIBA)
	$(CC) -o $@ $(TEST_OBJ) $(LIBA) $(LDFLAGS) $(LIBS_LIB)

# Setup runs only when something it provides is missing; it is idempotent.
deps:
	@sh scripts/setup --check >/dev/null 2>&1 || sh scripts/setup

setup:
	sh scripts/setup

run: deps
	$(MAKE) all
	./bin/mnemo serve

test: deps
	$(MAKE) all $(O)/test-unit fuzz-replay
	sh tests/run-all $(O)

test-unit: $(O)/test-unit
	$(O)/test-unit

# The long reliability run: 25 rounds of kill -9 under load, each with its own seed.
test-long: deps
	$(MAKE) all
	O=$(O) MNEMO_BIN=$(BIN) sh tests/crash/run.sh 25

# The performance benchmarks (bench/perf/run.sh), then the HNSW one when it exists.
bench: deps all
	sh bench/perf/run.sh
	@if $(MAKE) -n bench-hnsw >/dev/null 2>&1; then $(MAKE) bench-hnsw; fi

bench-retrieval: deps all
	$(MAKE) $(O)/bench/retrieval
	$(O)/bench/retrieval --out bench/results/retrieval.md

bench-compression: deps all
	$(MAKE) $(O)/bench/compression
	MNEMO_BENCH_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null) $(O)/bench/compression --verify --sweep --out bench/results/compression.md

# The compression bench reuses the retrieval harness's LoCoMo loader.
COMPRESSION_SRC := bench/compression/compression.c bench/retrieval/data.c \
  bench/retrieval/locomo.c bench/retrieval/util.c
$(O)/bench/compression: $(COMPRESSION_SRC) bench/retrieval/bench.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $(COMPRESSION_SRC) $(LIBA) $(LDFLAGS) $(LIBS_LIB) -lz

RETRIEVAL_SRC := $(wildcard bench/retrieval/*.c)
$(O)/bench/retrieval: $(RETRIEVAL_SRC) $(wildcard bench/retrieval/*.h) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $(RETRIEVAL_SRC) $(LIBA) $(LDFLAGS) $(LIBS_LIB) -lz

# The context bench (mn_context_build on LoCoMo dev) reuses the retrieval harness's loader.
.PHONY: bench-context
bench-context: deps all
	$(MAKE) $(O)/bench/context
	MNEMO_BENCH_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null) $(O)/bench/context --verify --out bench/results/context.md

CONTEXT_BENCH_SRC := bench/context/context.c bench/retrieval/data.c \
  bench/retrieval/locomo.c bench/retrieval/util.c
$(O)/bench/context: $(CONTEXT_BENCH_SRC) bench/retrieval/bench.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $(CONTEXT_BENCH_SRC) $(LIBA) $(LDFLAGS) $(LIBS_LIB) -lz

# Word weightings of the built-in embedder (SIF, idf of the user's memories, both; with and
# without the common component) in vector mode on the dev data: docs/RETRIEVAL.md.
# EMBED_MODELS="a.bin b.bin" compares model files too (scripts/build-model --type f32 ...).
.PHONY: bench-embed
bench-embed: deps all
	$(MAKE) $(O)/bench/embed-weights
	$(O)/bench/embed-weights $(foreach m,$(EMBED_MODELS),--model $(m)) | tee bench/results/embed-weights.md

EMBEDW_SRC := bench/embed/weights.c bench/retrieval/data.c bench/retrieval/locomo.c \
  bench/retrieval/longmemeval.c bench/retrieval/util.c
$(O)/bench/embed-weights: $(EMBEDW_SRC) bench/retrieval/bench.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $(EMBEDW_SRC) $(LIBA) $(LDFLAGS) $(LIBS_LIB) -lz

check-style:
	sh scripts/check-style

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mnemo
	install -m 644 $(LIBA) $(LIBSO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/mnemo.h $(DESTDIR)$(PREFIX)/include/
	if [ -f models/mnemo-glove100.bin ]; then install -d $(DESTDIR)$(PREFIX)/share/mnemo && \
	  install -m 644 models/mnemo-glove100.bin $(DESTDIR)$(PREFIX)/share/mnemo/; fi
	install -d $(DESTDIR)$(PREFIX)/share/mnemo/ui
	install -m 644 ui/*.html ui/*.js ui/*.css $(DESTDIR)$(PREFIX)/share/mnemo/ui/

clean:
	rm -rf build build-* bin

include fuzz/fuzz.mk
include bench/perf/perf.mk
include bench/hnsw/hnsw.mk

-include $(shell find $(O) -name '*.d' 2>/dev/null)
