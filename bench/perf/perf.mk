# bench/perf/perf.mk - build rules of the performance benchmarks (make bench). Included by the
# Makefile; nothing here is built by `make` or `make test`. The kernels bench links FAISS
# (Debian libfaiss-dev, C++ only), which bench/perf/run.sh installs when it is missing.
CXX ?= c++
PERF_CFLAGS := $(filter-out -MMD -MP,$(ALL_CFLAGS))
PERF_COMMON := bench/perf/util.c bench/perf/perf.h

$(O)/bench/perf/faiss_peer.o: bench/perf/faiss_peer.cpp bench/perf/faiss_peer.h
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -fopenmp -c $< -o $@

$(O)/bench/perf/kernels: bench/perf/kernels.c $(PERF_COMMON) $(O)/bench/perf/faiss_peer.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(PERF_CFLAGS) -c bench/perf/kernels.c -o $@-main.o
	$(CC) $(PERF_CFLAGS) -c bench/perf/util.c -o $@-util.o
	$(CXX) -o $@ $@-main.o $@-util.o $(O)/bench/perf/faiss_peer.o $(LIBA) $(LDFLAGS) \
	  -lfaiss -fopenmp -lblas -llapack $(LIBS_LIB)

PERF_HTTP_SRC := bench/perf/http.c bench/perf/loadgen.c bench/perf/peers.c bench/perf/util.c
$(O)/bench/perf/http: $(PERF_HTTP_SRC) $(wildcard bench/perf/*.h) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(PERF_CFLAGS) -o $@ $(PERF_HTTP_SRC) $(LIBA) $(LDFLAGS) $(LIBS_LIB)
