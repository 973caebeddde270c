# Batch benchmark: the job against the scan floor and the workshop's approach, in one process.
BENCH_EVENTS ?= 1000000
BENCH_ARGS ?= --repeat 4 --breakdown --phases

.PHONY: bench-batch

## bench-batch - the job vs the scan floor and the workshop port, 1M generated calls (~10 min; BENCH_ARGS=--skip-workshop to leave the port out)
bench-batch: $(SETUP_STAMP)
	$(PY) bench/bench_batch.py --events $(BENCH_EVENTS) $(BENCH_ARGS)
