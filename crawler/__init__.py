"""The Glue crawler (and its custom CSV classifier) that catalogs the job's output, as code."""
