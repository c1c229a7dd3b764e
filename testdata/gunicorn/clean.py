"""gunicorn config: each worker closes its pool when it exits."""


def worker_exit(server, worker):
    import app

    app.pool.closeall()
    server.log.info("worker %s closed its database pool", worker.pid)
