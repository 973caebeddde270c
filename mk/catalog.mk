# Catalog and explore the job's output: Glue crawler, Athena named queries, and local Athena (DuckDB).
QUERY ?= personalize_readiness
FORMAT ?= table
DATABASE ?= segmentdata
TABLE ?= interactions
WORKGROUP ?= primary
CRAWLER_ARGS ?=
# Non-empty when the job runs with --EVENT_VALUE_FIELD (its CSV then has EVENT_VALUE): the crawler's
# classifier and the registered queries must follow it. The local runner reads it from the CSV header.
EVENT_VALUE_FIELD ?=
EVENT_VALUE_ARG := $(if $(strip $(EVENT_VALUE_FIELD)),--event-value)
# The job's --USER_TRAITS / --ITEM_PROPERTIES: the crawler catalogs users/ and items/ too, and the queries
# that join them are registered. The local runner finds those folders beside OUTPUT by itself.
USER_TRAITS ?=
ITEM_PROPERTIES ?=
METADATA_ARGS := $(if $(strip $(USER_TRAITS)),--user-traits "$(USER_TRAITS)") \
  $(if $(strip $(ITEM_PROPERTIES)),--item-properties "$(ITEM_PROPERTIES)")

.PHONY: query-local readiness-local event-values-local metadata-local crawl athena-register athena-run athena-list

run-followups: readiness-local event-values-local metadata-local

## query-local QUERY=name FORMAT=table|csv|json - run a saved Athena query on the job output (OUTPUT=dir) with DuckDB
query-local: $(SETUP_STAMP)
	$(PY) -m athena_queries local $(QUERY) --output $(OUTPUT) --format $(FORMAT) --database $(DATABASE) --table $(TABLE)

## readiness-local - is the job output (OUTPUT=dir) enough to train Personalize? (runs at the end of make run)
readiness-local: $(SETUP_STAMP)
	@echo "Personalize readiness (athena_queries/personalize_readiness.sql on $(OUTPUT), via DuckDB):"
	@$(PY) -m athena_queries local personalize_readiness --output $(OUTPUT)

## event-values-local - EVENT_VALUE per event type in the job output (OUTPUT=dir), when it has the column (runs at the end of make run)
event-values-local: $(SETUP_STAMP)
	@$(PY) -m athena_queries local event_values --output $(OUTPUT) --quiet-skip \
	  --heading "EVENT_VALUE per event type (athena_queries/event_values.sql on $(OUTPUT), via DuckDB):"

## metadata-local - Items / Users coverage and top categories of the job output, when it wrote them (runs at the end of make run)
metadata-local: $(SETUP_STAMP)
	@$(PY) -m athena_queries local item_metadata_coverage --output $(OUTPUT) --quiet-skip \
	  --heading "Item metadata coverage (athena_queries/item_metadata_coverage.sql, via DuckDB):"
	@$(PY) -m athena_queries local users_without_traits --output $(OUTPUT) --quiet-skip \
	  --heading "Users without traits (athena_queries/users_without_traits.sql, via DuckDB):"
	@$(PY) -m athena_queries local top_categories --output $(OUTPUT) --quiet-skip \
	  --heading "Top categories (athena_queries/top_categories.sql, via DuckDB):"

## athena-list - the saved queries and what each answers
athena-list: $(SETUP_STAMP)
	@$(PY) -m athena_queries list

## crawl S3_TARGET=s3://bucket/.../interactions/ ROLE_ARN=arn:... [EVENT_VALUE_FIELD=price] [USER_TRAITS=...] [ITEM_PROPERTIES=...] - create/update classifiers + crawlers, crawl, check the tables
crawl: $(SETUP_STAMP)
	$(PY) -m crawler --s3-target "$(S3_TARGET)" --role-arn "$(ROLE_ARN)" --database $(DATABASE) $(EVENT_VALUE_ARG) $(METADATA_ARGS) $(CRAWLER_ARGS)

## athena-register [EVENT_VALUE_FIELD=price] [USER_TRAITS=...] [ITEM_PROPERTIES=...] - create or update the saved queries as Athena named queries (WORKGROUP=primary)
athena-register: $(SETUP_STAMP)
	$(PY) -m athena_queries register --database $(DATABASE) --table $(TABLE) --workgroup $(WORKGROUP) $(EVENT_VALUE_ARG) $(METADATA_ARGS)

## athena-run QUERY=name [RESULTS=s3://...] - run a saved query on Athena and print the result
athena-run: $(SETUP_STAMP)
	$(PY) -m athena_queries run $(QUERY) --database $(DATABASE) --table $(TABLE) --workgroup $(WORKGROUP) \
	  $(if $(RESULTS),--output-location $(RESULTS)) --format $(FORMAT)
