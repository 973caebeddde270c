"""Spark implementation of ``segment_personalize.rules``: native expressions only, no Python UDFs."""
