"""gunicorn config: no pool cleanup, and each worker's first request forks a
grandchild that keeps the worker's database connection and sleeps (see
app.py: the worker's exit still ends that session on the server)."""

raw_env = ["LEAK_ON_FIRST_REQUEST=idle"]
