"""The web process's thread running queued background work (ingest/worker.py) and due harvests."""
import threading

from catalog.params import now
from catalog.store import db as catalog_db
from catalog.users import system_user


def start_thread(settings, interval=1.0):
    """A daemon thread in this web process polling for jobs (several processes may each run one)."""
    stop = threading.Event()

    def loop():
        if stop.wait(interval):
            return
        # The loaders and harvesters (frictionless, readers: about 0.5 s of imports) load in this thread, one
        # interval after the server starts, so they neither delay its first answer nor compete with it.
        from . import harvest, worker
        db = catalog_db.connect(settings.db_path)
        while not stop.is_set():
            try:
                ran = worker.run_pending(settings, db)
                ran += harvest.run_pending(settings, db, system_user(db), now())
                if not ran:
                    stop.wait(interval)
            except Exception:
                stop.wait(interval)

    thread = threading.Thread(target=loop, name="khlang-jobs", daemon=True)
    thread.start()
    return stop
