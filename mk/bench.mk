# Batch benchmark: the job against the scan floor and the workshop's approach, in one process.
BENCH_EVENTS ?= 1000000
BENCH_ARGS ?= --repeat 4 --breakdown --phases
BENCH_PROCESS_ARGS ?= --repeat 3

.PHONY: bench-batch

## bench-batch - the job vs the scan floor and the workshop port, 1M generated calls (~10 min; BENCH_ARGS=--skip-workshop to leave the port out)
bench-batch: $(SETUP_STAMP)
	$(PY) bench/bench_batch.py --events $(BENCH_EVENTS) $(BENCH_ARGS)

.PHONY: bench-process

## bench-process - the job and the scan floor as whole spark-submit processes, Glue 6.0 vs 5.1 (sets up both)
bench-process:
	$(MAKE) --no-print-directory setup GLUE_VERSION=5.1
	$(MAKE) --no-print-directory setup GLUE_VERSION=6.0
	$(PY) bench/bench_process.py --events $(BENCH_EVENTS) $(BENCH_PROCESS_ARGS)
