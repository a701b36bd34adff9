# The two set-up commands of the README live here:
#   make run   installs what is needed, builds, and runs the server on :8080
#   make test  installs what is needed, builds, and runs the whole suite:
#              the release build, then an ASan+UBSan build (clang) with the
#              fuzz targets, each fuzzer run briefly over its seed corpus,
#              then a ThreadSanitizer build (clang) of the tests where
#              threads meet: engine, ws, integration, tls, bench.
# Benchmarks: make bench (micro), make bench-compare (servers side by side;
# results in bench/results/, untracked; the published ones are bench/reference/).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
LISTEN ?= 0.0.0.0:8080
CTEST_FLAGS ?= --output-on-failure -j $(JOBS) --timeout 300

.PHONY: deps build run test test-release test-asan test-tsan bench bench-compare clean

deps:
	@./scripts/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGSHARD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/ringshard --listen $(LISTEN)

# The release stage builds what the tests run: not the micro benchmarks and
# the io_uring floor server (make bench and make bench-compare build them).
test-release: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGSHARD_BENCH=OFF \
	  -DRINGSHARD_GTEST_SHARDS=ON
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest $(CTEST_FLAGS)

# ASan+UBSan over everything but testssl: it scans the TLS listener's
# protocol behaviour (versions, ciphers, known attacks), which the release
# stage checks, and took three minutes of the two-core CI budget under
# ASan; the TLS code's memory safety is checked here by the tls tests and
# the TLS record fuzzer.
ASAN_EXCLUDE = ^integration\.testssl$$
test-asan: deps
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DRINGSHARD_SANITIZE=ON -DRINGSHARD_FUZZ=ON \
	  -DRINGSHARD_BENCH=OFF -DRINGSHARD_GTEST_SHARDS=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS) -E '$(ASAN_EXCLUDE)'

# ThreadSanitizer over the tests where threads meet: engine and mailbox,
# WebSocket topics across shards, the HTTP client (its resolver thread
# answers the shards through their task queues), integration (which also
# starts the
# instrumented binary as a child: its shards are checked too), TLS across
# shards and the multi-threaded load generator. Only those binaries and
# the ringshard binary they start are built. Left out:
#   Process.SixtyFourIdleShardsStayUnder64MiB  measures RSS, which TSan's
#       shadow memory and runtime multiply; it runs in the other builds
#   integration.testssl, .ws_python, .ws_conformance, .ws_browser  outside
#       clients against the binary: they run in test-release and test-asan
#   integration.plugin_install, .deployments_durability, .deployments_openapi,
#       .deployments_console  a cmake build, SIGKILL rounds, a linter and a
#       browser: nothing the API test (which does run here) does not already
#       cross between threads
# No suppressions: every report so far was in our code. One in third-party
# code (BoringSSL, zlib) would go in a suppressions file saying why.
TSAN_TARGETS = engine_tests ws_tests integration_tests tls_tests bench_tests deployments_tests \
  client_tests ringshard deployments
TSAN_LABELS = ^(engine|ws|integration|tls|bench|deployments|client)$$
TSAN_EXCLUDE = ^integration\.(testssl|ws_python|ws_conformance|ws_browser|plugin_install|deployments_durability|deployments_openapi|deployments_console)$$
TSAN_GTEST_FILTER = -Process.SixtyFourIdleShardsStayUnder64MiB
test-tsan: deps
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DRINGSHARD_TSAN=ON -DRINGSHARD_BENCH=OFF \
	  -DRINGSHARD_GTEST_SHARDS=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TARGETS)
	cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
	  GTEST_FILTER='$(TSAN_GTEST_FILTER)' ctest $(CTEST_FLAGS) -L '$(TSAN_LABELS)' -E '$(TSAN_EXCLUDE)'

test: test-release test-asan test-tsan

bench: deps
	@./scripts/install-deps.sh bench
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGSHARD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)
	./bench/run_micro.sh $(BUILD)

# ringshard, nginx, h2o and the io_uring floor side by side (see
# bench/README.md). COMPARE_FLAGS: --quick, --only NAME,..., --skip-peers.
bench-compare: deps
	@./scripts/install-deps.sh bench
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGSHARD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target ringshard ringshard-floor ringshard-load
	./bench/compare.sh --build $(BUILD) $(COMPARE_FLAGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
