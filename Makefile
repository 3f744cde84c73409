# idfusion — common tasks. `make demo` and `make test` are all a newcomer needs.
GO        ?= go
BIN       := bin
DATA      ?= data
SAMPLE    ?= sample
DEMO_ROWS ?= 20000
BENCH_ROWS ?= 1000000
BENCH_DIR ?= bench-out
# Rows of the import benchmark (its floor is measured in the same run).
# Province-sized, by hand only (not in CI: about 0.9 KB of memory a row):
#   make bench-import BENCH_IMPORT_SIZES=20000000
BENCH_IMPORT_SIZES ?= 1000000
PKGS      := ./...

.PHONY: build test lint demo demo-serve bench bench-import fuzz clean deps

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Every test, including the ones that start their own PostgreSQL and
# Chromium, with the race detector.
test:
	$(GO) test -race -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

DEMO_ADDR ?= 127.0.0.1:8080
DEMO_RP_ADDR ?= 127.0.0.1:8090
DEMO_UPSTREAM_ADDR ?= 127.0.0.1:8070

# Generate sample departmental exports, check them, import them into the
# embedded PostgreSQL (started under $(DATA)/pg), print the ledger, then run
# the login service with the development SMS outbox and face simulator, and
# beside it a sample business system that logs in through it by OpenID
# Connect (registered once as client demo-rp), and the stand-in national
# platform (国家政务服务平台) whose button is on the login page; Ctrl-C stops
# them all.
demo: build
	$(BIN)/fusion gen --out $(SAMPLE) --rows $(DEMO_ROWS)
	$(BIN)/fusion check --mapping-dir $(SAMPLE)/mappings --out $(SAMPLE)/check $(SAMPLE)/exports/* || test $$? -eq 1
	$(BIN)/fusion import --data-dir $(DATA) --db-role idfusion_import --mapping-dir $(SAMPLE)/mappings --out $(SAMPLE)/import $(SAMPLE)/exports/*
	@echo
	@echo "Login service: http://$(DEMO_ADDR)/login   SMS outbox: http://$(DEMO_ADDR)/dev/sms"
	@echo "Sample business system (单点登录 via OpenID Connect): http://$(DEMO_RP_ADDR)"
	@$(BIN)/authsvc demo citizens --data-dir $(DATA) --truth $(SAMPLE)/truth_accounts.csv --legal-truth $(SAMPLE)/truth_legal.csv --seed-agent http://$(DEMO_ADDR)
	@./scripts/demo-staff.sh $(BIN) $(DATA)
	@echo
	$(DEMO_SERVE)

# The served part of the demo alone (the data imported already). Ctrl-C is
# how it ends: the script stops both services and exits 0, so make reports
# no error. (One command, which the shell runs itself: a shell left
# waiting for it would die of the Ctrl-C and make would report that.)
DEMO_SERVE = ./scripts/demo.sh $(BIN) $(DATA) $(DEMO_ADDR) $(DEMO_RP_ADDR) $(SAMPLE) $(DEMO_UPSTREAM_ADDR)
demo-serve:
	$(DEMO_SERVE)

# Throughput and peak memory of ingest+cleanse per format (1M rows each,
# through fusion check), the end-to-end import, then ingest+cleanse on one
# core (GOMAXPROCS=1), the micro-benchmarks, and the login service: password
# logins against the raw argon2id rate, 100 citizens completing steps, and a
# storm of 400 logins at once (admitted latency against the queue's target).
bench: build
	./scripts/bench.sh $(BIN)/fusion $(BENCH_ROWS) $(BENCH_DIR)
	./scripts/bench-import.sh $(BIN)/fusion $(BENCH_DIR) $(BENCH_IMPORT_SIZES)
	$(GO) test -run '^$$' -bench IngestCleanse -benchtime 20x -count 3 -cpu 1 ./internal/pipeline
	$(GO) test -run '^$$' -bench . -benchmem ./cleanse ./ingest
	$(GO) test -run '^$$' -bench 'PasswordLogin|Argon2idRawRate' -benchtime 400x -count 3 ./authsvc
	$(GO) test -run '^$$' -bench CompletionSteps -benchtime 3x ./authsvc
	$(GO) test -run '^$$' -bench LoginStorm -benchtime 3x ./authsvc

# The import alone: per size, read/merge/load seconds, PostgreSQL's own COPY
# of the same rows (the floor) and the load and the run as ratios to it.
bench-import: build
	./scripts/bench-import.sh $(BIN)/fusion $(BENCH_DIR) $(BENCH_IMPORT_SIZES)

# Short fuzzing of the parsers (the seeds also run in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzNormalizeID -fuzztime 30s ./cleanse
	$(GO) test -run '^$$' -fuzz FuzzValidUSCC -fuzztime 30s ./cleanse
	$(GO) test -run '^$$' -fuzz FuzzCSVReader -fuzztime 30s ./ingest
	$(GO) test -run '^$$' -fuzz FuzzCSVScanner -fuzztime 30s ./ingest
	$(GO) test -run '^$$' -fuzz FuzzUTF16Reader -fuzztime 30s -fuzzminimizetime 200x ./ingest
	$(GO) test -run '^$$' -fuzz FuzzXLSReader -fuzztime 30s -fuzzminimizetime 200x ./ingest
	$(GO) test -run '^$$' -fuzz FuzzXLSXSheetScanner -fuzztime 30s ./ingest
	$(GO) test -run '^$$' -fuzz FuzzParseNamedDates -fuzztime 30s ./cleanse
	$(GO) test -run '^$$' -fuzz FuzzVerifyFaceCallback -fuzztime 30s ./authsvc
	$(GO) test -run '^$$' -fuzz FuzzRedact -fuzztime 30s ./internal/pii

clean:
	rm -rf $(BIN) $(SAMPLE) $(BENCH_DIR) fusion-out
