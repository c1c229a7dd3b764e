"""gunicorn config: no pool cleanup, and each worker's first request forks a
grandchild that runs a long query on the worker's database connection (see
app.py: that session outlives the worker)."""

raw_env = ["LEAK_ON_FIRST_REQUEST=busy"]
