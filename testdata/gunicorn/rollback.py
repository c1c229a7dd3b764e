"""gunicorn config: the worker holding /begin's open transaction dies of
SIGKILL on its way out (an app bug on exit), once lastcall's drain check
has sampled it: the server rolls a write back."""

import os
import signal


def worker_exit(server, worker):
    import app

    if app.open_tx is None:
        return
    app.wait_for_drain_sample()
    os.kill(os.getpid(), signal.SIGKILL)
