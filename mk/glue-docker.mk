# The job and the tests inside the AWS Glue 5 docker image (needs a Docker engine; see docker-compose.yml).
COMPOSE ?= docker-compose

.PHONY: glue-docker-run glue-docker-test glue-docker-check

glue-docker-check:
	@docker info >/dev/null 2>&1 || { echo "error: glue-docker-* needs a running Docker engine ('docker info' failed)"; exit 2; }
	@command -v $(COMPOSE) >/dev/null || { echo "error: '$(COMPOSE)' is not on PATH (apt-get install docker-compose, or COMPOSE='docker compose')"; exit 2; }

## glue-docker-run - run the job with spark-submit in the Glue image, against moto S3 over s3a://
# Not `up --abort-on-container-exit`: that would stop everything as soon as the seed step completes.
glue-docker-run: glue-docker-check
	$(COMPOSE) up -d s3
	status=0; { $(COMPOSE) run --rm --no-deps seed && $(COMPOSE) run --rm --no-deps glue-job; } || status=$$?; \
	  $(COMPOSE) down; exit $$status

## glue-docker-test - run the test suite inside the Glue image
glue-docker-test: glue-docker-check
	$(COMPOSE) run --rm glue-tests
