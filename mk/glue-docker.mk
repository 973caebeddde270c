# The job and the tests inside the AWS Glue 5 docker image (needs a Docker engine; see docker-compose.yml).
COMPOSE ?= docker-compose

.PHONY: glue-docker-run glue-docker-test glue-docker-check

glue-docker-check:
	@docker info >/dev/null 2>&1 || { echo "error: glue-docker-* needs a running Docker engine ('docker info' failed)"; exit 2; }
	@command -v $(COMPOSE) >/dev/null || { echo "error: '$(COMPOSE)' is not on PATH (apt-get install docker-compose, or COMPOSE='docker compose')"; exit 2; }

## glue-docker-run - run the job with spark-submit in the Glue image, against moto S3 over s3a://
glue-docker-run: glue-docker-check
	$(COMPOSE) up --abort-on-container-exit --exit-code-from glue-job s3 seed glue-job
	$(COMPOSE) down

## glue-docker-test - run the test suite inside the Glue image
glue-docker-test: glue-docker-check
	$(COMPOSE) run --rm glue-tests
