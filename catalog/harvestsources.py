"""Harvest sources as data, and their actions (sysadmins only): what to gather from which agency catalogue,
how often, and the jobs that did it. The fetching itself runs in ingest (a background job of `khlang serve`,
or `khlang harvest run`)."""
import json
import re
from datetime import datetime

from . import auth, jobs
from .store.db import transaction
from .errors import NotFound, ValidationError
from .store import harvest as harvest_store
from .store.groups import get_group
from .store.harvest import get_source
from .params import as_bool, get_or_bust, name_errors, new_id, now

TYPES = ("ckan", "dcat")
_EVERY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text):
    """Seconds of a schedule like `1d`, `6h`, `30m` or `3600`; None for no schedule."""
    if text in (None, ""):
        return None
    m = _EVERY.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValidationError({"every": ["A schedule is a number with s, m, h or d, such as 1d or 6h"]})
    seconds = int(m.group(1)) * UNITS[m.group(2)]
    if seconds < 60:
        raise ValidationError({"every": ["Harvest at most once a minute"]})
    return seconds


def _check_url(url, allow_files):
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url) and not (allow_files and
                                                                                     url.startswith("file://")):
        raise ValidationError({"url": ["Must be an http:// or https:// address"]})
    return url.strip()


def create_source(ctx, data, allow_files=False):
    """Insert a source (allow_files: a file:// DCAT document, from the command line only)."""
    auth.require_sysadmin(ctx)
    name = get_or_bust(data, "name")
    errors = {}
    if name_errors(name):
        errors["name"] = name_errors(name)
    elif harvest_store.name_taken(ctx.db, name):
        errors["name"] = ["A harvest source with this name exists"]
    kind = data.get("source_type") or data.get("type") or "ckan"
    if kind not in TYPES:
        errors["source_type"] = [f"Must be one of {list(TYPES)}"]
    org = data.get("org") or data.get("owner_org")
    if org and not get_group(ctx.db, org, is_org=True):
        errors["org"] = ["Organization does not exist"]
    if errors:
        raise ValidationError(errors)
    url = _check_url(get_or_bust(data, "url"), allow_files)
    every = parse_every(data.get("every"))
    sid = new_id()
    with transaction(ctx.db):
        harvest_store.insert_source(ctx.db, sid, name, url, kind, org or None, data.get("fq") or None, every, now())
    return source_dict(ctx.db, get_source(ctx.db, sid))


def _require(ctx, data):
    auth.require_sysadmin(ctx)
    row = get_source(ctx.db, get_or_bust(data, "id"))
    if row is None:
        raise NotFound("Harvest source not found")
    return row


def source_dict(db, row):
    """A source as the API shows it, with its dataset count and last job."""
    count = harvest_store.object_count(db, row["id"])
    last = harvest_store.last_job(db, row["id"])
    return {"id": row["id"], "name": row["name"], "url": row["url"], "source_type": row["type"], "org": row["org"],
            "fq": row["fq"], "every_seconds": row["every_seconds"], "detached": bool(row["detached"]),
            "created": row["created"], "last_modified_seen": row["last_modified_seen"], "dataset_count": count,
            "last_job": job_dict(last) if last else None}


def job_dict(row):
    """A job as the API shows it."""
    return {"id": row["id"], "source_id": row["source_id"], "state": row["state"], "created": row["created"],
            "started": row["started"], "finished": row["finished"], "error": row["error"],
            "stats": json.loads(row["stats"] or "{}"), "log": json.loads(row["log"] or "[]")}


def harvest_source_create(ctx, data):
    """Add a CKAN or DCAT catalogue to harvest (name, url, source_type, org, fq, every)."""
    return create_source(ctx, data)


def harvest_source_show(ctx, data):
    """A harvest source with its dataset count and last job."""
    return source_dict(ctx.db, _require(ctx, data))


def harvest_source_list(ctx, data):
    """Every harvest source."""
    auth.require_sysadmin(ctx)
    return [source_dict(ctx.db, r) for r in harvest_store.sources(ctx.db)]


def harvest_source_update(ctx, data):
    """Change a source's url, org, fq, schedule, or detach it (its datasets become local and editable)."""
    row = _require(ctx, data)
    values = {}
    if "url" in data:
        values["url"] = _check_url(data["url"], row["url"].startswith("file://"))
    if "org" in data:
        if data["org"] and not get_group(ctx.db, data["org"], is_org=True):
            raise ValidationError({"org": ["Organization does not exist"]})
        values["org"] = data["org"] or None
    if "fq" in data:
        values["fq"] = data["fq"] or None
    if "every" in data:
        values["every_seconds"] = parse_every(data["every"])
    if "detached" in data:
        values["detached"] = int(as_bool(data, "detached"))
    if values:
        with transaction(ctx.db):
            harvest_store.update_source(ctx.db, row["id"], values)
    return source_dict(ctx.db, get_source(ctx.db, row["id"]))


def harvest_source_delete(ctx, data):
    """Stop harvesting a source; its datasets stay, as local (detached) datasets."""
    row = _require(ctx, data)
    with transaction(ctx.db):
        harvest_store.delete_source(ctx.db, row["id"])
    return None


def queue(db, source_id):
    """Queue a run of the source unless one is pending or running; returns that job's row."""
    with transaction(db):
        active = harvest_store.active_job(db, source_id)
        if active:
            return active
        jid = new_id()
        harvest_store.insert_job(db, jid, source_id, now())
    return harvest_store.get_job(db, jid)


def harvest_run(ctx, data):
    """Queue a run of a source now (one that is pending or running is returned instead)."""
    return job_dict(queue(ctx.db, _require(ctx, data)["id"]))


def harvest_job_list(ctx, data):
    """A source's jobs, newest first."""
    row = _require(ctx, data)
    return [job_dict(r) for r in harvest_store.jobs_of(ctx.db, row["id"])]


def claim_next(db):
    """Claim the oldest pending harvest job for this process, or None."""
    return jobs.claim_oldest(db, "harvest_jobs")


def finish(db, job_id, state, stats=None, log=None, error=None):
    """Record how a job ended."""
    harvest_store.finish_job(db, job_id, state, now(), json.dumps(stats or {}), json.dumps(log or [], ensure_ascii=False),
                             error)
    db.commit()


def fail_orphans(db):
    """Jobs whose worker on this host died (kill -9) end as errors, so the next run starts clean."""
    for job_id in jobs.orphans(db, "harvest_jobs"):
        finish(db, job_id, "error", error="the harvester stopped before the run finished; run again")


def due_sources(db, at):
    """Scheduled sources whose last job started longer ago than their interval (or never ran)."""
    rows = harvest_store.scheduled_sources(db)
    out = []
    for r in rows:
        if r["last"] is None or (datetime.fromisoformat(at) - datetime.fromisoformat(r["last"])).total_seconds() \
                >= r["every_seconds"]:
            out.append(r)
    return out


def record(db, source_id, remote_id, remote_name, package_id, remote_url, remote_modified, content_hash):
    """Remember which local dataset a remote record became (in the caller's transaction)."""
    harvest_store.record_object(db, source_id, remote_id, remote_name, package_id, remote_url, remote_modified,
                                content_hash)


def objects(db, source_id):
    """{remote_id: row} of what a source brought in."""
    return harvest_store.objects(db, source_id)


def forget(db, source_id, remote_id):
    """Drop the link of a withdrawn record (in the caller's transaction)."""
    harvest_store.forget_object(db, source_id, remote_id)


def seen_until(db, source_id, modified):
    """Remember the newest remote change harvested, so the next run asks only for later ones."""
    with transaction(db):
        harvest_store.set_seen_until(db, source_id, modified)
