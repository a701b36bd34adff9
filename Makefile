# The two set-up commands of the README live here:
#   make run   installs what is needed, builds, and runs the server on :8080
#   make test  installs what is needed, builds, and runs the whole suite:
#              the release build, then an ASan+UBSan build (clang) with the
#              fuzz targets, each fuzzer run briefly over its seed corpus.
# Benchmarks: make bench (micro), make bench-compare (servers side by side;
# results in bench/results/, untracked; the published ones are bench/reference/).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
LISTEN ?= 0.0.0.0:8080
CTEST_FLAGS ?= --output-on-failure -j $(JOBS) --timeout 300

.PHONY: deps build run test test-release test-asan bench bench-compare clean

deps:
	@./scripts/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/ringshard --listen $(LISTEN)

test-release: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-asan: deps
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DRINGSHARD_SANITIZE=ON -DRINGSHARD_FUZZ=ON \
	  -DRINGSHARD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

test: test-release test-asan

bench: deps
	@./scripts/install-deps.sh bench
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)
	./bench/run_micro.sh $(BUILD)

# ringshard, nginx, h2o and the io_uring floor side by side (see
# bench/README.md). COMPARE_FLAGS: --quick, --only NAME,..., --skip-peers.
bench-compare: deps
	@./scripts/install-deps.sh bench
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS) --target ringshard ringshard-floor ringshard-load
	./bench/compare.sh --build $(BUILD) $(COMPARE_FLAGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
