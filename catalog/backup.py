"""A consistent snapshot of a node's catalogue and storage, taken while it serves, and restoring one.

The catalogue is copied first (SQLite's online backup into khlang.db, or pg_dump of one PostgreSQL snapshot
into catalogue.pgdump), then the storage folder. Stored files are content-addressed and never change, so
every file the snapshot names is already on disk when the copy starts; the one thing that can go in
between is an old spending build pruned by a newer one, which is checked for and copied again.

A backup restores into a new node of either kind: a SQLite snapshot into a SQLite file or (copied table by
table) into an empty PostgreSQL database, a PostgreSQL dump into an empty PostgreSQL database."""
import json
import shutil
import time
from pathlib import Path

from . import integrity
from .settings import database_label, is_postgresql
from .store import db as store_db
from .store import sitemeta

CATALOGUE = "khlang.db"
DUMP = "catalogue.pgdump"
STORAGE = "storage"
_SKIP = (".load-", ".upload-", "khlang-ingest-")   # a running writer's temporary files


class BackupError(Exception):
    """A backup or restore that cannot start (the destination is not empty, the source is not a backup)."""


def _ignore(folder, names):
    return [n for n in names if n.startswith(_SKIP) or (Path(folder).name == STORAGE and n == "tmp")]


def backup(settings, conn, dest):
    """Write catalogue and storage to the new folder `dest`; returns a summary (also saved as BACKUP.json)."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; give a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    on_postgresql = store_db.dialect(conn) == "postgresql"
    for _ in range(3):
        if on_postgresql:
            build = store_db.dump(conn, dest / DUMP, lambda c: sitemeta.get(c, "spending_build"))
        else:
            store_db.backup(conn, dest / CATALOGUE)
            build = _snapshot_build(dest / CATALOGUE)
        if Path(settings.storage_dir).is_dir():
            shutil.copytree(settings.storage_dir, dest / STORAGE, ignore=_ignore, dirs_exist_ok=True)
        (dest / STORAGE).mkdir(exist_ok=True)
        # The snapshot's live spending build must have been copied with it (a newer build may prune it).
        if not build or (dest / STORAGE / "parquet" / "spending" / build).is_dir():
            break
    else:
        raise BackupError("the spending model was rebuilt twice during the copy; run the backup again")
    summary = {"catalogue": DUMP if on_postgresql else CATALOGUE, "storage": STORAGE,
               "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "seconds": round(time.perf_counter() - started, 2),
               "files": sum(1 for p in (dest / STORAGE).rglob("*") if p.is_file())}
    (dest / "BACKUP.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _snapshot_build(path):
    snap = store_db.connect(str(path), migrate=False)
    try:
        return sitemeta.get(snap, "spending_build")
    finally:
        snap.close()


def _restore_postgresql(src, url, dumped):
    from .store import transfer   # a SQLite snapshot goes into PostgreSQL table by table

    conn = store_db.connect(url, migrate=False)
    try:
        if not store_db.is_empty(conn):
            raise BackupError(f"{database_label(url)} already holds a catalogue; restore into a new, empty database")
        if dumped:
            store_db.undump(conn, src / DUMP)
            return
        store_db.migrate_db(conn)
        snap = store_db.connect(str(src / CATALOGUE), migrate=False)
        try:
            transfer.copy_catalogue(snap, conn)
        finally:
            snap.close()
    finally:
        conn.close()


def restore(src, settings):
    """Make `src` (a backup folder) this node's catalogue and storage; both must not exist yet. Returns the
    problems `khlang check` would find in the restored copy (none when it is whole)."""
    src = Path(src)
    dumped = (src / DUMP).is_file()
    if not (dumped or (src / CATALOGUE).is_file()) or not (src / STORAGE).is_dir():
        raise BackupError(f"{src} is not a Khlang backup (no {CATALOGUE} or {DUMP}, and {STORAGE}/)")
    storage = Path(settings.storage_dir)
    if storage.exists() and any(storage.iterdir()):
        raise BackupError(f"{storage} already exists; restore into a new node")
    if is_postgresql(settings.db_path):
        _restore_postgresql(src, settings.db_path, dumped)
    else:
        if dumped:
            raise BackupError("a PostgreSQL dump restores into a PostgreSQL database; set KHLANG_DB to a new one")
        target = Path(settings.db_path)
        if target.exists():
            raise BackupError(f"{target} already exists; restore into a new node")
        target.parent.mkdir(parents=True, exist_ok=True)
        snap = store_db.connect(str(src / CATALOGUE), migrate=False)
        try:
            store_db.backup(snap, target)
        finally:
            snap.close()
    shutil.copytree(src / STORAGE, storage, dirs_exist_ok=True)
    conn = store_db.connect(settings.db_path)
    try:
        return integrity.check(settings, conn)
    finally:
        conn.close()
