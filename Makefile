# Thin front door over CMake. `make run` is the main job, `make test` runs
# every test (plain build, ASan+UBSan build, a bounded fuzz run).
BUILD      ?= build
JOBS       ?= 2
FUZZ_SECS  ?= 60

.PHONY: all build run test test-plain test-sanitize test-tsan fuzz bench install format clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

# The main job: the simulator, no root needed. Draws RFC 9293 Figure 6 (the
# basic three-way handshake) from a live run of two tern stacks.
run: build
	./$(BUILD)/tern sim

test: test-plain test-sanitize test-tsan fuzz

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

test-sanitize:
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON
	cmake --build $(BUILD)-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(BUILD)-asan --output-on-failure -j$(JOBS)

# ThreadSanitizer over the tests that run the socket runtime's threads.
TSAN_TARGETS = test_socket test_socket_driven test_socket_driver test_sockdiff test_getaddrinfo
TSAN_REGEX   = ^(test_socket|test_socket_driven|test_socket_driver|test_sockdiff_tern|test_getaddrinfo)$$
test-tsan:
	cmake -S . -B $(BUILD)-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTERN_TSAN=ON
	cmake --build $(BUILD)-tsan -j$(JOBS) --target $(TSAN_TARGETS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --test-dir $(BUILD)-tsan --output-on-failure -R '$(TSAN_REGEX)'

# libFuzzer: the IPv4/ICMP/TCP/UDP/Ethernet/ARP parsers for FUZZ_SECS seconds,
# then a whole stack fed Ethernet frames for half as long, then random
# programs of socket calls against two runtimes for half as long.
fuzz:
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DTERN_FUZZ=ON -DTERN_TESTS=OFF -DTERN_EXAMPLES=OFF
	cmake --build $(BUILD)-fuzz -j$(JOBS) --target fuzz_parse fuzz_stack fuzz_sock
	rm -rf $(BUILD)-fuzz/corpus && mkdir -p $(BUILD)-fuzz/corpus && cp tests/fuzz/corpus/parse/* $(BUILD)-fuzz/corpus/
	./$(BUILD)-fuzz/tests/fuzz/fuzz_parse -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		$(BUILD)-fuzz/corpus > $(BUILD)-fuzz/fuzz_parse.log 2>&1; rc=$$?; \
		tail -n 25 $(BUILD)-fuzz/fuzz_parse.log; exit $$rc
	rm -rf $(BUILD)-fuzz/corpus-stack && mkdir -p $(BUILD)-fuzz/corpus-stack && cp tests/fuzz/corpus/parse/* $(BUILD)-fuzz/corpus-stack/
	./$(BUILD)-fuzz/tests/fuzz/fuzz_stack -max_total_time=$$(( $(FUZZ_SECS) / 2 )) -print_final_stats=1 \
		$(BUILD)-fuzz/corpus-stack > $(BUILD)-fuzz/fuzz_stack.log 2>&1; rc=$$?; \
		tail -n 25 $(BUILD)-fuzz/fuzz_stack.log; exit $$rc
	rm -rf $(BUILD)-fuzz/corpus-sock && mkdir -p $(BUILD)-fuzz/corpus-sock && cp tests/fuzz/corpus/sock/* $(BUILD)-fuzz/corpus-sock/
	./$(BUILD)-fuzz/tests/fuzz/fuzz_sock -max_total_time=$$(( $(FUZZ_SECS) / 2 )) -print_final_stats=1 \
		$(BUILD)-fuzz/corpus-sock > $(BUILD)-fuzz/fuzz_sock.log 2>&1; rc=$$?; \
		tail -n 25 $(BUILD)-fuzz/fuzz_sock.log; exit $$rc

bench: build
	cmake --build $(BUILD) -j$(JOBS) --target benches
	for b in $(BUILD)/bench/bench_*; do echo "== $$b"; $$b; done

# `make install PREFIX=/opt/tern` installs there (default: the configured
# prefix, /usr/local). As root into a prefix the dynamic linker searches,
# ldconfig refreshes its cache so that programs find libtern.so.0 at once.
PREFIX ?=
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))
	@if [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz
