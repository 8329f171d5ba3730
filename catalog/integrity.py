"""Checking the store after a crash: the catalogue database, every upload and every version file by sha256.

Temporary files carry the writer's process id (`.load-<pid>-…`, `.upload-<pid>-…`, `khlang-ingest-<pid>-…`),
so what a killed process left behind can be told from what a running one is still writing.
"""
import hashlib
import os
import re
import shutil
from pathlib import Path

from . import storage, tables

_LEFTOVER = re.compile(r"^(?:\.load-|\.upload-|khlang-ingest-)(\d+)-")


def process_alive(pid):
    """True while a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_leftovers(settings):
    """Delete temporary files and folders of writers that are no longer running; returns their paths."""
    root = Path(settings.storage_dir)
    removed = []
    for folder in (tables.parquet_dir(settings), storage.files_dir(settings), root / "tmp"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            m = _LEFTOVER.match(entry.name)
            if m and not process_alive(int(m.group(1))):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                removed.append(str(entry))
    return removed


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check(settings, db):
    """Problems found: [{"kind", "what", "detail"}]; an empty list means the store is whole."""
    problems = []
    result = db.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        problems.append({"kind": "catalogue", "what": settings.db_path, "detail": result})
    for (sha,) in db.execute("SELECT sha256 FROM files ORDER BY sha256"):
        path = storage.path_for(settings, sha)
        if not path.exists():
            problems.append({"kind": "upload", "what": sha, "detail": "missing"})
        elif _sha256(path) != sha:
            problems.append({"kind": "upload", "what": sha, "detail": "does not match its sha256"})
    for row in db.execute("SELECT DISTINCT parquet_sha256 FROM resource_versions ORDER BY 1"):
        sha = row[0]
        path = tables.parquet_path(settings, sha)
        if not path.exists():
            problems.append({"kind": "version", "what": sha, "detail": "missing"})
        elif _sha256(path) != sha:
            problems.append({"kind": "version", "what": sha, "detail": "does not match its sha256"})
    dangling = db.execute("SELECT t.resource_id FROM datastore_tables t LEFT JOIN resource_versions v "
                          "ON v.id = t.current_version_id WHERE t.current_version_id IS NOT NULL AND v.id IS NULL").fetchall()
    problems += [{"kind": "pointer", "what": r[0], "detail": "live version does not exist"} for r in dangling]
    return problems
