# Deployable artifacts, reproducible (same sources -> byte-identical zips), in build/dist/.
.PHONY: package package-lambda

## package - build build/dist/: segment_personalize.zip, the job script, personalize_stream.zip (Lambda)
package: $(SETUP_STAMP)
	$(PY) -m deploy.package all

## package-lambda - build only the Lambda zip (handler + pure rules, no pyspark)
package-lambda: $(SETUP_STAMP)
	$(PY) -m deploy.package lambda
