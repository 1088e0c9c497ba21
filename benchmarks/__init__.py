"""Benchmarks: DynamoDB calls, client CPU and throughput per request.

Five subjects serve the same small app: this package with each transport
(``transport="auto"``, the lean HTTP transport, and ``transport="boto3"``),
the first again with encryption at rest (``encrypt=True``), Flask's default
cookie session (no network at all: the ceiling) and
Flask-Session 0.8's DynamoDB backend. DynamoDB is dynalite, run as a separate
Node.js process on ``127.0.0.1`` (so that the CPU measured in the Python
process excludes the database) that counts the calls it serves. Run
everything with ``python benchmarks/run.py``.
"""
