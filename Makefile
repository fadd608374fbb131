# Two commands for a newcomer on a fresh Debian 12 machine (as root):
#   make demo   a real failover across three local test hosts with real systemd
#   make test   every test: unit, then end-to-end on the test bed
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test unit e2e demo bench clean

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

demo: build
	@bash tests/testbed/demo.sh

bench: build
	@bash tests/testbed/bench.sh

clean:
	rm -rf $(BUILD)
