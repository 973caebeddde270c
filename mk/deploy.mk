# Deploy to AWS with boto3 (config: deploy/deploy.toml, overridable as SP_<KEY> environment variables).
DEPLOY_CONFIG ?= deploy/deploy.toml
# make glue-run GLUE_RUN_ARGS="--arg SINGLE_FILE=true": per-run job argument overrides
GLUE_RUN_ARGS ?=
# GLUE_VERSION given on the command line or in the environment (make deploy GLUE_VERSION=5.1) becomes
# SP_GLUE_VERSION, which wins over deploy.toml's glue_version. The Makefile's own default (6.0) is not
# passed, so that without one the toml key decides.
DEPLOY_ENV := $(if $(filter command line environment,$(origin GLUE_VERSION)),SP_GLUE_VERSION=$(GLUE_VERSION))

.PHONY: deploy deploy-dry-run glue-run

## deploy - package, upload, and create/update the Glue job, crawler, named queries, Lambda + Kinesis mapping
deploy: package
	$(DEPLOY_ENV) $(PY) -m deploy --config $(DEPLOY_CONFIG)

## deploy-dry-run - check the config with the job's and the Lambda's parsers, print every request; calls nothing
deploy-dry-run: $(SETUP_STAMP)
	$(DEPLOY_ENV) $(PY) -m deploy --config $(DEPLOY_CONFIG) --dry-run

## glue-run - start the deployed Glue job and follow it to the end (non-zero exit unless it succeeds)
# Not on `package`: a run uses what `make deploy` uploaded, whatever is in build/dist/.
glue-run: $(SETUP_STAMP)
	$(DEPLOY_ENV) $(PY) -m deploy.glue_run --config $(DEPLOY_CONFIG) $(GLUE_RUN_ARGS)
