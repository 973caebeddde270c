"""Kinesis -> Amazon Personalize PutEvents Lambda, on the batch job's rules (segment_personalize.rules)."""
