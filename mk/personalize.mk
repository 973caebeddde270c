# Amazon Personalize: import a job run into the dataset group `make deploy` created (docs/personalize.md).
# make personalize-import PERSONALIZE_IMPORT_ARGS="--mode INCREMENTAL"
PERSONALIZE_IMPORT_ARGS ?=

.PHONY: personalize-import

## personalize-import - import the last job run into the Personalize datasets (quotas checked first; follows each job to ACTIVE)
personalize-import: $(SETUP_STAMP)
	$(PY) -m deploy.personalize_import --config $(DEPLOY_CONFIG) $(PERSONALIZE_IMPORT_ARGS)
