# fuzz.mk - fuzz targets (included by the Makefile). Each fuzz/fuzz_<name>.c is a target
# <name> built two ways: <name>-replay with the normal compiler and fuzz/replay.c as main()
# (`make test` feeds it fuzz/corpus/<name>/), and <name>-fuzz with clang's libFuzzer,
# AddressSanitizer and UBSan (`make fuzz`). The HTTP and MCP layers are linked without
# libmicrohttpd (and without server.c): fuzz/hstub.c stands in for the calls they make.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     := fuzzer-no-link,address,undefined
FUZZ_O       := build-$(subst $(comma),-,$(FUZZ_SAN))
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_COMMON  := fuzz/common.c fuzz/hstub.c
FUZZ_HDRS    := $(wildcard fuzz/*.h)
FUZZ_HTTP_OBJ := $(filter-out $(O)/src/http/server.o,$(filter $(O)/src/http/% $(O)/src/mcp/%,$(BIN_OBJ)))
FUZZ_CFLAGS  := $(filter-out -MMD -MP,$(ALL_CFLAGS))

.PHONY: fuzz fuzz-replay fuzz-bins

fuzz-replay: $(FUZZ_NAMES:%=$(O)/fuzz/%-replay)

$(O)/fuzz/%-replay: fuzz/fuzz_%.c fuzz/replay.c $(FUZZ_COMMON) $(FUZZ_HDRS) $(FUZZ_HTTP_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_$*.c fuzz/replay.c $(FUZZ_COMMON) $(FUZZ_HTTP_OBJ) \
	  $(LIBA) $(LDFLAGS) $(LIBS_LIB)

fuzz-bins: $(FUZZ_NAMES:%=$(O)/fuzz/%-fuzz)

$(O)/fuzz/%-fuzz: fuzz/fuzz_%.c $(FUZZ_COMMON) $(FUZZ_HDRS) $(FUZZ_HTTP_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ fuzz/fuzz_$*.c $(FUZZ_COMMON) \
	  $(FUZZ_HTTP_OBJ) $(LIBA) $(LDFLAGS) $(LIBS_LIB)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="http json"]: each target in turn, niced.
fuzz:
	$(MAKE) CC=$(FUZZ_CC) SANITIZE=$(FUZZ_SAN) OPT=-O1 \
	  CFLAGS="-fno-sanitize-recover=undefined" fuzz-bins
	sh fuzz/run.sh $(FUZZ_O) $(FUZZ_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))
