"""Background DataStore loads of uploaded files (CKAN xloader's role): the queue and its status action.

Queueing is a row in `jobs` written in the same transaction as the resource change; workers (a
thread in each web process, or `khlang jobs run`) claim a job with one conditional UPDATE, so two
processes never run the same job, on one machine or on several nodes of one catalogue. A running job
holds a lease its worker renews; a job whose worker died is failed (retry with resubmit) by any node once
its lease runs out, or at once by a worker on the same machine that finds the process gone.
"""
import json
import os
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from . import auth
from .errors import NotFound
from .params import get_or_bust, new_id, now
from .store import jobs as job_store
from .store.db import transaction

LOADABLE = {"CSV", "TSV", "XLSX", "JSON"}
STATES = ("pending", "running", "complete", "error", "superseded")


def process_alive(pid):
    """True while a process with this id runs on this machine (a lease's holder, a temporary file's writer)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wants_load(values, data):
    """True when a resource change with an upload should queue a DataStore load."""
    flag = str(data.get("khlang_autoload", "true")).lower()
    return flag not in ("false", "0", "no") and (values.get("format") or "").upper() in LOADABLE


def queue_load(ctx, resource_id, sha256):
    """Queue a load of the resource's uploaded file (caller's transaction); returns the job id."""
    jid = new_id()
    job_store.insert_load(ctx.db, jid, resource_id, now(), sha256, ctx.user_id)
    return jid


def claim_oldest(db, table="jobs"):
    """Claim the oldest pending row of a work queue for this process, or None (on PostgreSQL with
    `FOR UPDATE SKIP LOCKED`, so nodes claiming at once take different rows without waiting)."""
    return job_store.claim_oldest(db, table, now(), worker_name(), _lease_end())


LEASE_S = 90          # a running job's lease
RENEW_EVERY_S = 15    # how often its worker renews it


def _lease_end(seconds=LEASE_S):
    return (datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=seconds)).isoformat()


def worker_name():
    """This process as a job's worker: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(db, table, job_id):
    """Claim one pending row for this process (host:pid, so a killed worker is found by `orphans`), or None
    when another worker has it."""
    return job_store.claim(db, table, job_id, now(), worker_name(), _lease_end())


def orphans(db, table="jobs"):
    """Ids of running rows whose worker is gone: a process on this host that is no longer alive, or any
    worker whose lease ran out without renewal (a node that died or was cut off)."""
    host, out, at = socket.gethostname(), [], datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    for row in job_store.running(db, table):
        name, _, pid = (row["worker"] or "").rpartition(":")
        dead_here = name == host and pid.isdigit() and not process_alive(int(pid))
        if dead_here or (row["lease_until"] and row["lease_until"] < at):
            out.append(row["id"])
    return out


@contextmanager
def leased(settings, table, job_id):
    """Renew a claimed job's lease from a thread of its own (its own connection) while the job runs."""
    from .store import db as store_db   # a connection for the renewing thread, not the worker's own

    stop = threading.Event()

    def renew():
        conn = store_db.connect(settings.db_path, migrate=False)
        try:
            while not stop.wait(RENEW_EVERY_S):
                job_store.renew(conn, table, job_id, worker_name(), _lease_end())
        finally:
            conn.close()

    thread = threading.Thread(target=renew, name=f"khlang-lease-{job_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def claim_next(db):
    """Claim the oldest pending load for this process, or None."""
    return claim_oldest(db, "jobs")


def finish(db, job_id, state, error=None, report=None):
    """Record a job's outcome."""
    job_store.finish_load(db, job_id, state, now(), error,
                          json.dumps(report, ensure_ascii=False) if report is not None else None)


def fail_orphans(db):
    """Mark jobs whose worker process on this host is gone (killed mid-load) as failed, so they can be retried."""
    for job_id in orphans(db, "jobs"):
        finish(db, job_id, "error", error="the worker stopped before the load finished; retry with resubmit")


def job_dict(row):
    """The xloader_status shape of a job row."""
    report = json.loads(row["report"]) if row["report"] else {}
    return {"job_id": row["id"], "status": row["state"], "created": row["created"], "started": row["started"],
            "finished": row["finished"], "last_updated": row["finished"] or row["started"] or row["created"],
            "error": {"message": row["error"]} if row["error"] else None,
            "task_info": {"source_sha256": row["source_sha256"], "validation_report": report.get("report"),
                          "version": report.get("version")}}


def latest(db, resource_id):
    """The newest load job of a resource, or None."""
    return job_store.latest_load(db, resource_id)


def xloader_status(ctx, data):
    """Status and validation report of a resource's latest background load (CKAN xloader's action)."""
    rid = get_or_bust(data, "resource_id") if "resource_id" in data else get_or_bust(data, "id")
    auth.resource_for(ctx, rid)
    row = latest(ctx.db, rid)
    if not row:
        raise NotFound("No load job for this resource.")
    return job_dict(row)


def xloader_submit(ctx, data):
    """Queue (again) a load of a resource's uploaded file, e.g. after a failed job."""
    rid = get_or_bust(data, "resource_id")
    res, _ = auth.resource_for(ctx, rid, write=True)
    if not res["sha256"]:
        raise NotFound("The resource has no uploaded file to load.")
    with transaction(ctx.db):
        queue_load(ctx, rid, res["sha256"])
    return True
