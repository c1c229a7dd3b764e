"""A Flask app with a psycopg2 connection pool, for lastcall's gunicorn test.

The pool is built from DATABASE_URL when gunicorn imports the app in a
worker (no --preload: each worker has its own pool and one open session).
GET / runs `select 1` through the pool and returns "ok".

With LEAK_ON_FIRST_REQUEST set (by leaky.py or busy.py), a worker's first
request forks a grandchild that inherits the worker's open pool connection
and never closes it: a descendant that keeps the app's database socket
after gunicorn exits. The response to that request carries the
grandchild's pid in X-Leaked-Pid.

- LEAK_ON_FIRST_REQUEST=idle: the grandchild sleeps forever. When the
  worker exits, psycopg2's finalizer sends Terminate on the shared socket:
  the server ends the session, and the grandchild's socket is left in
  CLOSE_WAIT (held, but its session is gone).
- LEAK_ON_FIRST_REQUEST=busy: the grandchild runs `select pg_sleep(3600)`
  on the inherited connection (a background job on the request's
  connection). The server does not read the worker's Terminate while the
  query runs: the session stays active and the socket ESTABLISHED.

GET /begin/write and /begin/read open a transaction on a pool connection
(an UPDATE of the table counter, or a SELECT of it) and leave it open; the
worker's exit hook (rollback.py, commit.py) decides its end.
"""

import os
import time

import psycopg2
import psycopg2.pool
from flask import Flask, make_response

app = Flask(__name__)
pool = psycopg2.pool.ThreadedConnectionPool(1, 4, os.environ["DATABASE_URL"])

_leak = os.environ.get("LEAK_ON_FIRST_REQUEST", "")
_given_away = None  # the connection the grandchild took: never used here again
open_tx = None  # the connection whose transaction /begin left open


def _hold_forever(conn):
    """The grandchild: keep every inherited socket open, never return into
    gunicorn or Flask."""
    try:
        if _leak == "busy":
            with conn.cursor() as cur:
                cur.execute("select pg_sleep(3600)")
        while True:
            time.sleep(3600)
    finally:
        os._exit(0)


@app.route("/")
def index():
    global _given_away
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("select 1")
            cur.fetchone()
        conn.rollback()
    finally:
        pool.putconn(conn)
    resp = make_response("ok")
    if _leak in ("idle", "busy") and _given_away is None:
        # Checked out for good: later requests get a new connection, and
        # the worker never writes to this one while the grandchild does.
        _given_away = pool.getconn()
        pid = os.fork()
        if pid == 0:
            _hold_forever(_given_away)
        resp.headers["X-Leaked-Pid"] = str(pid)
    return resp


@app.route("/begin/<kind>")
def begin(kind):
    """Open a transaction and leave it open: an UPDATE (write) or a SELECT
    (read, no transaction id)."""
    global open_tx
    conn = pool.getconn()
    with conn.cursor() as cur:
        if kind == "write":
            cur.execute("UPDATE counter SET n = n + 1")
        else:
            cur.execute("SELECT n FROM counter")
            cur.fetchone()
    open_tx = conn  # psycopg2 began the transaction; nothing commits it here
    return "ok"


def wait_for_drain_sample(timeout=20):
    """Wait until lastcall's drain check has sampled the app's sessions
    since the stop began: its monitor session (application_name
    lastcall-monitor, the app's role) has run its query of the tagged
    sessions. Polls on a connection of its own, not tagged."""
    probe = psycopg2.connect(os.environ["DATABASE_URL"], application_name="probe")
    probe.autocommit = True
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with probe.cursor() as cur:
                cur.execute(
                    "select count(*) from pg_stat_activity where application_name = 'lastcall-monitor'"
                    " and ((state = 'idle' and query like '%application_name = $1%') or query like '%xact_status%')"
                )
                if cur.fetchone()[0] > 0:
                    return
            time.sleep(0.01)
    finally:
        probe.close()
