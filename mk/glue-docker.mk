# The job and the tests inside the AWS Glue docker image of GLUE_VERSION (needs a Docker engine; see
# docker-compose.yml and docs/glue-docker.md).
COMPOSE ?= docker-compose

# AWS documents one Glue 5 tag, public.ecr.aws/glue/aws-glue-libs:5 (listed for 5.0; no 5.1 tag), and
# no Glue 6.0 image yet. When AWS publishes one, its tag goes here; until then GLUE_IMAGE=... names one.
GLUE_IMAGE_5.1 := public.ecr.aws/glue/aws-glue-libs:5
GLUE_IMAGE_6.0 :=
GLUE_IMAGE ?= $(GLUE_IMAGE_$(GLUE_VERSION))
export GLUE_IMAGE

.PHONY: glue-docker-run glue-docker-test glue-docker-check glue-docker-image

## glue-docker-image - print the Glue image that GLUE_VERSION runs in (override with GLUE_IMAGE=...)
glue-docker-image:
	@[ -n "$(GLUE_IMAGE)" ] || { echo "error: AWS publishes no Glue $(GLUE_VERSION) docker image yet; use GLUE_VERSION=5.1, or GLUE_IMAGE=<an image with Glue $(GLUE_VERSION)> (docs/glue-docker.md)" >&2; exit 2; }
	@echo "$(GLUE_IMAGE)"

glue-docker-check: glue-docker-image
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
