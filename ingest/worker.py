"""Running queued background work: loads of uploaded files (validate, write the Parquet version, flip the
pointer). ingest/poller.py runs it, and due harvests, in the web process."""
import json
import time
from pathlib import Path

from catalog import jobs, storage
from catalog.datastore import indexes as datastore_indexes, tables
from catalog.context import Context
from catalog.datastore.search import current_version
from catalog.datastore.loads import record_version
from catalog.store import users as user_store
from catalog.store.db import transaction
from catalog.store.resources import get_resource

from . import loading, readers, schemas, validation
from .schemas import CannotStart
from .sourcefile import CannotRead

READER_BY_FORMAT = {"XLSX": readers.XlsxReader, "JSON": readers.JsonReader}


def _plan(resource_row):
    """A validation plan from the resource's `schema` (a validators/ name or a Table Schema object)."""
    extras = json.loads(resource_row["extras"] or "{}")
    schema = extras.get("schema")
    if isinstance(schema, str) and schema.strip().startswith("{"):
        schema = json.loads(schema)
    if isinstance(schema, dict):
        parsed = schemas.parse_schema(schema)
        return validation.Plan(descriptor=parsed.to_descriptor())
    if isinstance(schema, str) and schema:
        return validation.plan_for(schema, None)
    return validation.Plan()


def run_job(settings, db, job):
    """Run one claimed job to completion (state complete, error or superseded)."""
    res = get_resource(db, job["resource_id"])
    if not res:
        jobs.finish(db, job["id"], "error", error="the resource was deleted")
        return "error"
    user = user_store.by_id(db, job["user_id"]) if job["user_id"] else None
    ctx = Context(db=db, settings=settings, user=dict(user) if user else None)
    path = storage.path_for(settings, job["source_sha256"])
    if not path.exists() or not storage.verify(settings, job["source_sha256"]):
        jobs.finish(db, job["id"], "error", error="the stored file is missing or does not match its sha256")
        return "error"
    try:
        plan = _plan(res)
        reader = READER_BY_FORMAT.get((res["format"] or "").upper(), readers.Reader)()
        with validation.Workspace(str(Path(settings.storage_dir) / "tmp")) as ws:
            started = time.perf_counter()
            checked = validation.check_file(ws, path, plan, 0, reader=reader, place=res["url"] or path.name)
            report = validation.report([checked], started)
            if not report["valid"]:
                jobs.finish(db, job["id"], "error", error="the file did not pass validation", report={"report": report})
                return "error"
            sql, fields, pk, ordered = loading.loaded_select(ws, [checked])
            sha, rows = tables.write_version(settings, ws.cur, sql, ordered=ordered)
            # The table's declared indexes carry over to the new version.
            indexes = datastore_indexes.build(settings, ws.cur, sha,
                                              datastore_indexes.kept(current_version(db, res["id"]), fields))
        with transaction(db):
            live = current_version(db, res["id"])
            if live and live["loaded_at"] > job["created"]:
                # Someone loaded the table after this upload was queued (e.g. `khlang ingest`): keep theirs.
                state, version = "superseded", None
            else:
                state = "complete"
                version = record_version(ctx, res["id"], sha, rows, fields, pk, "upload load", job["source_sha256"],
                                         report, indexes)["version"]
        jobs.finish(db, job["id"], state, report={"report": report, "version": version})
        return state
    except (CannotRead, CannotStart) as exc:
        jobs.finish(db, job["id"], "error", error=str(exc))
        return "error"
    except Exception as exc:  # the job must end in a state the API can show, whatever broke
        jobs.finish(db, job["id"], "error", error=f"{type(exc).__name__}: {exc}")
        return "error"


def run_pending(settings, db, limit=None):
    """Run pending jobs until none are left (or `limit`); returns how many ran."""
    n = 0
    jobs.fail_orphans(db)
    while limit is None or n < limit:
        job = jobs.claim_next(db)
        if job is None:
            break
        with jobs.leased(settings, "jobs", job["id"]):
            run_job(settings, db, job)
        n += 1
    return n
