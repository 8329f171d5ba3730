"""A consistent snapshot of a node's catalogue and storage, taken while it serves, and restoring one.

The catalogue is copied first (SQLite's online backup), then the storage folder. Stored files are
content-addressed and never change, so every file the snapshot names is already on disk when the copy
starts; the one thing that can go in between is an old spending build pruned by a newer one, which is
checked for and copied again."""
import json
import shutil
import time
from pathlib import Path

from . import integrity
from .store import db as store_db
from .store import sitemeta

CATALOGUE = "khlang.db"
STORAGE = "storage"
_SKIP = (".load-", ".upload-", "khlang-ingest-")   # a running writer's temporary files


class BackupError(Exception):
    """A backup or restore that cannot start (the destination is not empty, the source is not a backup)."""


def _ignore(folder, names):
    return [n for n in names if n.startswith(_SKIP) or (Path(folder).name == STORAGE and n == "tmp")]


def backup(settings, conn, dest):
    """Write catalogue and storage to the new folder `dest`; returns a summary (also saved as BACKUP.json)."""
    dest = Path(dest)
    if store_db.dialect(conn) != "sqlite":
        raise BackupError("khlang backup copies a SQLite catalogue; back up a PostgreSQL catalogue with pg_dump and "
                          "the storage folder after it (docs/deploy.md)")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; give a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for _ in range(3):
        store_db.backup(conn, dest / CATALOGUE)
        if Path(settings.storage_dir).is_dir():
            shutil.copytree(settings.storage_dir, dest / STORAGE, ignore=_ignore, dirs_exist_ok=True)
        (dest / STORAGE).mkdir(exist_ok=True)
        if _complete(dest):
            break
    else:
        raise BackupError("the spending model was rebuilt twice during the copy; run the backup again")
    summary = {"catalogue": CATALOGUE, "storage": STORAGE, "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "seconds": round(time.perf_counter() - started, 2),
               "files": sum(1 for p in (dest / STORAGE).rglob("*") if p.is_file())}
    (dest / "BACKUP.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _complete(dest):
    """True when the snapshot's live spending build (if any) was copied with it."""
    snap = store_db.connect(str(dest / CATALOGUE), migrate=False)
    try:
        build = sitemeta.get(snap, "spending_build")
    finally:
        snap.close()
    return not build or (dest / STORAGE / "parquet" / "spending" / build).is_dir()


def restore(src, settings):
    """Make `src` (a backup folder) this node's catalogue and storage; both must not exist yet. Returns the
    problems `khlang check` would find in the restored copy (none when it is whole)."""
    src = Path(src)
    if settings.db_path.startswith(("postgresql:", "postgres:")):
        raise BackupError("khlang restore makes a SQLite catalogue; restore a PostgreSQL one with pg_restore and "
                          "copy the storage folder (docs/deploy.md)")
    if not (src / CATALOGUE).is_file() or not (src / STORAGE).is_dir():
        raise BackupError(f"{src} is not a Khlang backup (no {CATALOGUE} and {STORAGE}/)")
    target, storage = Path(settings.db_path), Path(settings.storage_dir)
    if target.exists() or (storage.exists() and any(storage.iterdir())):
        raise BackupError(f"{target} or {storage} already exists; restore into a new node")
    target.parent.mkdir(parents=True, exist_ok=True)
    snap = store_db.connect(str(src / CATALOGUE), migrate=False)
    try:
        store_db.backup(snap, target)
    finally:
        snap.close()
    shutil.copytree(src / STORAGE, storage, dirs_exist_ok=True)
    conn = store_db.connect(str(target))
    try:
        return integrity.check(settings, conn)
    finally:
        conn.close()
