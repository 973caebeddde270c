"""Local stand-ins for the streaming path: a recording PutEvents endpoint and a Kinesis poller on moto."""
