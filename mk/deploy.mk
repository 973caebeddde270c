# Deploy to AWS with boto3 (config: deploy/deploy.toml, overridable as SP_<KEY> environment variables).
DEPLOY_CONFIG ?= deploy/deploy.toml
# make glue-run GLUE_RUN_ARGS="--arg SINGLE_FILE=true": per-run job argument overrides
GLUE_RUN_ARGS ?=

.PHONY: deploy deploy-dry-run glue-run

## deploy - package, upload, and create/update the Glue job, crawler, named queries, Lambda + Kinesis mapping
deploy: package
	$(PY) -m deploy --config $(DEPLOY_CONFIG)

## deploy-dry-run - print every request the deployment would make; calls nothing
deploy-dry-run: $(SETUP_STAMP)
	$(PY) -m deploy --config $(DEPLOY_CONFIG) --dry-run

## glue-run - start the deployed Glue job and follow it to the end (non-zero exit unless it succeeds)
# Not on `package`: a run uses what `make deploy` uploaded, whatever is in build/dist/.
glue-run: $(SETUP_STAMP)
	$(PY) -m deploy.glue_run --config $(DEPLOY_CONFIG) $(GLUE_RUN_ARGS)
