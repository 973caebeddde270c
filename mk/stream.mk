# Streaming path: Kinesis -> Lambda (lambdas/personalize_stream) -> Personalize PutEvents.
STREAM_EVENTS ?= 2000
STREAM_BENCH_RECORDS ?= 10000
# The Lambda package imports as `personalize_stream`, from lambdas/, exactly as in the deployed zip.
STREAM_PYTHONPATH := PYTHONPATH=lambdas:.

.PHONY: stream-local bench-stream

## stream-local - moto Kinesis on loopback -> the Lambda handler -> a recording PutEvents sink; prints what it sent (USER_TRAITS=spec: PutUsers too)
stream-local: $(SETUP_STAMP)
	$(STREAM_PYTHONPATH) $(PY) -m stream_local.run --events $(STREAM_EVENTS) $(if $(USER_TRAITS),--user-traits '$(USER_TRAITS)')

## bench-stream - handler vs the workshop's one-call-per-record loop, 10k records, 20 ms per call
bench-stream: $(SETUP_STAMP)
	$(STREAM_PYTHONPATH) $(PY) bench/bench_stream.py --records $(STREAM_BENCH_RECORDS)
