# bench/hnsw/hnsw.mk - `make bench-hnsw`: mnemo's HNSW against hnswlib (Debian libhnswlib-dev,
# header-only C++, benchmark only; bench/hnsw/deps.sh installs it when missing). Included by
# the Makefile; nothing here is built by `make` or `make test`. `make bench` chains it.
CXX ?= c++
.PHONY: bench-hnsw
HNSW_BENCH_SRC := bench/hnsw/hnsw.c bench/retrieval/data.c bench/retrieval/locomo.c \
  bench/retrieval/longmemeval.c bench/retrieval/util.c
HNSW_BENCH_ARGS ?= --verify

bench-hnsw: deps
	sh bench/hnsw/deps.sh
	$(MAKE) $(O)/bench/hnsw
	MNEMO_BENCH_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null) \
	  $(O)/bench/hnsw $(HNSW_BENCH_ARGS) --out bench/results/hnsw.md

# hnswlib picks its SIMD code at compile time: -march=native gives it this CPU's best.
$(O)/bench/hnswlib_peer.o: bench/hnsw/hnswlib_peer.cpp
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -march=native -std=c++11 -w -c $< -o $@

$(O)/bench/hnsw: $(HNSW_BENCH_SRC) bench/retrieval/bench.h $(O)/bench/hnswlib_peer.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $(HNSW_BENCH_SRC) $(O)/bench/hnswlib_peer.o \
	  $(LIBA) $(LDFLAGS) $(LIBS_LIB) -lz -lstdc++
