"""gunicorn config: the worker holding /begin's open transaction commits
it on its way out, once lastcall's drain check has sampled it open, and
then dies of SIGKILL: nothing is rolled back."""

import os
import signal


def worker_exit(server, worker):
    import app

    if app.open_tx is None:
        return
    app.wait_for_drain_sample()
    app.open_tx.commit()
    os.kill(os.getpid(), signal.SIGKILL)
