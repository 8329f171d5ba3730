"""The web process's thread running queued background work (ingest/worker.py) and due harvests."""
import threading

from catalog import harvestsources, jobs
from catalog.params import now
from catalog.store import db as catalog_db
from catalog.store import jobs as job_store
from catalog.users import system_user


def start_thread(settings, interval=1.0):
    """A daemon thread in this web process polling for jobs (several processes may each run one)."""
    stop = threading.Event()

    def loop():
        # One interval after the server starts: work left queued begins once the server answers, not beside its start.
        if stop.wait(interval):
            return
        db = catalog_db.connect(settings.db_path)
        while not stop.is_set():
            try:
                ran = _run_waiting(settings, db) if work_waiting(db) else 0
                if not ran:
                    stop.wait(interval)
            except Exception:
                stop.wait(interval)

    thread = threading.Thread(target=loop, name="khlang-jobs", daemon=True)
    thread.start()
    return stop


def work_waiting(db):
    """True when a load or harvest is pending, a claimed one's worker is gone, or a scheduled source is due."""
    return any((job_store.oldest_pending(db, "jobs"), job_store.oldest_pending(db, "harvest_jobs"),
                jobs.orphans(db, "jobs"), jobs.orphans(db, "harvest_jobs"), harvestsources.due_sources(db, now())))


def _run_waiting(settings, db):
    # The loaders and harvesters (frictionless, rdflib, requests: about 0.5 s and 40 MB of imports) load with the
    # first job, not in every server that never runs one.
    from . import harvest, worker
    return worker.run_pending(settings, db) + harvest.run_pending(settings, db, system_user(db), now())
