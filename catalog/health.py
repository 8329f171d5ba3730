"""What a load balancer and a monitoring system ask of a node: is it whole, and how busy is its work queue."""
import os
from pathlib import Path

from .datastore import tables
from .store import db as store_db
from .store import jobs as job_store


def checks(settings, db):
    """{"catalogue", "storage", "duckdb": "ok" or what is wrong}: the three things a node needs to serve."""
    out = {}
    try:
        out["catalogue"] = "ok" if store_db.ping(db) else "no answer"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure instead of raising it
        out["catalogue"] = f"{type(exc).__name__}: {exc}"
    storage = Path(settings.storage_dir)
    out["storage"] = ("ok" if storage.is_dir() and os.access(storage, os.W_OK | os.X_OK)
                      else f"{storage} is missing or not writable")
    try:
        cur = tables.reader(settings)
        try:
            out["duckdb"] = "ok" if cur.execute("SELECT 1").fetchone()[0] == 1 else "no answer"
        finally:
            cur.close()
    except Exception as exc:  # noqa: BLE001
        out["duckdb"] = f"{type(exc).__name__}: {exc}"
    return out


def job_counts(db):
    """{(queue, state): rows} of the DataStore load and harvest queues."""
    return {(queue, state): n for queue in ("jobs", "harvest_jobs")
            for state, n in job_store.counts_by_state(db, queue).items()}
