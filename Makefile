# Two commands for a newcomer on a fresh Debian 12 machine (as root):
#   make demo   a real failover across three local test hosts with real systemd
#   make test   every test: unit, then end-to-end on the test bed
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test unit e2e sanitize fuzz demo bench bench-scale clean package failover-sim health
FUZZ_SECONDS ?= 20

all: build

deps:
	@bash deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

# ctest's fixtures bring the test bed up before the e2e tests and down after them, also when
# they fail; the last line is a backstop that fails loudly if anything was left behind.
test: build
	cd $(BUILD) && ctest --output-on-failure -L unit
	cd $(BUILD) && ctest --output-on-failure -L e2e; rc=$$?; \
	  bash ../tests/testbed/testbed.sh down $(CURDIR)/$(BUILD)/testbed >/dev/null 2>&1 || true; exit $$rc
	$(MAKE) --no-print-directory sanitize
	$(MAKE) --no-print-directory fuzz

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (gcc). `unit_tests` builds every
# unit test binary (common, agent, planner, coordinator) and failoverctl; ctest -L unit runs them all.
sanitize: deps
	@cmake -S . -B build-asan -DFAILOVER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j$(JOBS) --target unit_tests
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -L unit

# libFuzzer targets (clang, ASan + UBSan) for FUZZ_SECONDS each.
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DFAILOVER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_unit_name fuzz_config fuzz_agent_config fuzz_requests
	@bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# The Debian package (CPack): build/package/failover_VERSION_amd64.deb. Install with
#   apt-get install ./build/package/failover_*_amd64.deb
package: build
	@cd $(BUILD) && cpack -G DEB -B $(CURDIR)/$(BUILD)/package >/dev/null && ls -1 $(CURDIR)/$(BUILD)/package/*.deb

demo: build
	@bash tests/testbed/demo.sh

bench: build
	@bash tests/testbed/bench.sh

# The seed's entry points (docs: README "The seed's commands"): a failover through failoverctl
# against the coordinator, dry run unless EXECUTE=1; the token travels in the environment only.
#   make failover-sim API_BASE=https://api.staging.example.com PANEL_TOKEN=… [EXECUTE=1] [SERVICES=…] [MODE=…]
#   make health API_BASE=… PANEL_TOKEN=…      [COORDINATOR=unix:PATH|host:port] [TESTBED=1]
failover-sim:
	@bash tools/failover-sim.sh sim

health:
	@bash tools/failover-sim.sh health

# One coordinator against N agent gRPC servers (mTLS, loopback, simulated systemd): overhead, peak
# RSS and CPU per size, then one JSON line per size. SIZES="100:100 1000:1000 1000:50" (hosts:max_parallel).
bench-scale: build
	@bash bench/bench-scale.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
