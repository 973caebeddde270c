"""Build the artifacts and deploy the pipeline to AWS with boto3: Glue job, crawler, queries, Lambda."""
