"""Checking the store after a crash: the catalogue database, every upload and every version file by sha256.

Temporary files carry the writer's process id (`.load-<pid>-…`, `.upload-<pid>-…`, `khlang-ingest-<pid>-…`, and
in the system's temporary folder `khlang-search-<pid>-…`), so what a killed process left behind can be told
from what a running one is still writing.
"""
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

from . import storage
from .jobs import process_alive
from .datastore import tables
from .settings import database_label
from .store import datastore as datastore_store

_LEFTOVER = re.compile(r"^(?:\.load-|\.upload-|khlang-ingest-)(\d+)-")
_SEARCH_COPY = re.compile(r"^khlang-search-(\d+)-")   # a PostgreSQL node's copy of the search index


def sweep_leftovers(settings):
    """Delete temporary files and folders of writers that are no longer running; returns their paths."""
    root = Path(settings.storage_dir)
    removed = []
    folders = [(f, _LEFTOVER) for f in (tables.parquet_dir(settings), storage.files_dir(settings), root / "tmp")]
    for folder, pattern in folders + [(Path(tempfile.gettempdir()), _SEARCH_COPY)]:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            m = pattern.match(entry.name)
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
    result = datastore_store.integrity_check(db)
    if result != "ok":
        problems.append({"kind": "catalogue", "what": database_label(settings.db_path), "detail": result})
    for sha in datastore_store.file_shas(db):
        path = storage.path_for(settings, sha)
        if not path.exists():
            problems.append({"kind": "upload", "what": sha, "detail": "missing"})
        elif _sha256(path) != sha:
            problems.append({"kind": "upload", "what": sha, "detail": "does not match its sha256"})
    for sha in datastore_store.version_shas(db):
        path = tables.parquet_path(settings, sha)
        if not path.exists():
            problems.append({"kind": "version", "what": sha, "detail": "missing"})
        elif _sha256(path) != sha:
            problems.append({"kind": "version", "what": sha, "detail": "does not match its sha256"})
    problems += [{"kind": "pointer", "what": rid, "detail": "live version does not exist"}
                 for rid in datastore_store.dangling_pointers(db)]
    return problems
