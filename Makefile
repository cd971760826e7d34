# The two commands (README): `make demo` runs the system end to end; `make test` runs the tests.
# Both first install the system packages a fresh machine lacks (as root, with apt-get).
SHELL := /bin/bash
APT_PACKAGES := libsqlite3-dev libcurl4-openssl-dev libssl-dev

.PHONY: deps build test demo bench chaos fuzz clean format lint
SERIAL_TESTS := IntegrationTests|ConformanceTests|JobQueueTests|TransportTests

deps:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages:$$missing; install them with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

build: deps
	swift build

# Builds everything (the tests start the real `enqueuer` and `worker` binaries), then runs the suite in
# two groups. The unit tests of each module run in parallel. One at a time: the real processes
# (IntegrationTests), the queue and store conformance suite, the worker runtime's lease, heartbeat and
# wake-up timers (JobQueueTests) and the transport's peak-memory check: on two cores, CPU-heavy suites
# (10,000 FIT verifications) running beside them would starve their timers or blur the measurement.
# Then the TLS checks (Tests/tls/run.sh: outbound TLS floor; nginx in front of the API when installed),
# the full-disk checks (Tests/storage/run.sh: the database on a 3 MB tmpfs in a private mount namespace),
# the committed fuzz inputs replayed through their invariants (Fuzz/replay.sh), schemathesis against the API's OpenAPI document (Tests/api/schemathesis.sh; pip-installs it pinned), and the Custom UI in Chromium (Tests/ui/run.sh).
# The tests also need PostgreSQL's server binaries (they start a throwaway cluster of their own),
# iproute2 (`ip netns`, for the hosts of the multi-host test), and Chromium with its WebDriver for the
# Custom UI in a real browser (Tests/ui/run.sh; pip-installs selenium pinned).
test: APT_PACKAGES += postgresql iproute2 chromium chromium-driver fonts-liberation
test: deps lint
	swift build --build-tests
	swift test --skip-build --skip '$(SERIAL_TESTS)'
	swift test --skip-build --no-parallel --filter '$(SERIAL_TESTS)'
	Tests/tls/run.sh .build/debug
	Tests/storage/run.sh .build/debug
	Fuzz/replay.sh .build/debug
	Tests/api/schemathesis.sh .build/debug
	Tests/ui/run.sh .build/debug

# Style: swift-format (in the toolchain) with the checked-in .swift-format (120 columns). `make format`
# rewrites the sources; `make lint` (part of `make test`) fails on any difference.
FORMAT_PATHS := Sources Tests Benchmarks Fuzz Package.swift
format:
	swift format format -i -r --configuration .swift-format $(FORMAT_PATHS)
lint:
	swift format lint -r --strict --configuration .swift-format $(FORMAT_PATHS)

# The whole system end to end against the sandbox (scripts/demo.sh says each step as it goes).
demo: deps
	swift build -c release --product sandbox
	swift build -c release --product enqueuer
	swift build -c release --product worker
	scripts/demo.sh .build/release

# Benchmarks live apart from the tests; results go to BENCHMARKS.md.
bench: deps
	swift build -c release --product worker
	swift build -c release --product queue-bench
	swift build -c release --product fit-bench
	taskset -c 0 .build/release/fit-bench
	.build/release/queue-bench --bin-dir .build/release
	Benchmarks/api/run.sh
	swift build -c release --product render-bench
	.build/release/render-bench
	swift build -c release --product snapshot-bench
	.build/release/snapshot-bench
	Benchmarks/pipeline/run.sh
	Benchmarks/scheduler/run.sh
	Benchmarks/idle/run.sh
	Benchmarks/fairness/run.sh
	Benchmarks/fleet/run.sh
	swift build -c release --product transport-bench
	Benchmarks/transport/run.sh .build/release

# Chaos run: kills, pauses, restarts and faults for MINUTES (default 10), then checks one
# page per report with the latest data, no stuck job, every run terminal. Not part of `make test`.
chaos: deps
	Benchmarks/chaos/run.sh

clean:
	rm -rf .build demo-output bench-data

# libFuzzer with AddressSanitizer over the FIT front end, the OAuth state, cron, report bodies and the
# renderer (Fuzz/run.sh; FUZZ_SECONDS per target, default 600; FUZZ_JOBS at a time, default 2).
# Not part of `make test`, which replays the committed corpora instead.
fuzz: deps
	Fuzz/run.sh

