"""Page views and downloads, counted per object and day (dataset pages and resource downloads).

A view never waits for the write lock: counts are kept in memory and written when the catalogue is free
(an ingest may hold the lock for a second or more), so they can lag behind, and a killed process loses
the few it had not written yet."""
import threading
from collections import Counter
from datetime import date, timedelta

from .db import database_key, is_busy, transaction, without_waiting

_pending = {}   # database file -> Counter of (object_id, kind, day)
_lock = threading.Lock()


def record(db, object_id, kind):
    """Count one view or download (written now if the catalogue is free, else with a later count)."""
    key = database_key(db)
    with _lock:
        _pending.setdefault(key, Counter())[(object_id, kind, date.today().isoformat())] += 1
    flush(db, key)


def flush(db, key):
    """Write the counts kept for this database, unless another writer holds the lock."""
    with _lock:
        counts = _pending.pop(key, None)
    if not counts or db.in_transaction:
        if counts:
            _requeue(key, counts)
        return
    try:
        with without_waiting(db), transaction(db):
            db.executemany("INSERT INTO usage_counts (object_id, kind, day, count) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (object_id, kind, day) DO UPDATE SET count = usage_counts.count + excluded.count",
                           [(*k, n) for k, n in counts.items()])
    except Exception as e:
        if not is_busy(e):
            raise
        _requeue(key, counts)


def _requeue(key, counts):
    with _lock:
        _pending.setdefault(key, Counter()).update(counts)


def totals(db, object_ids, kind):
    """{object_id: all-time count} for these objects."""
    ids = list(object_ids)
    if not ids:
        return {}
    rows = db.execute(f"SELECT object_id, sum(count) FROM usage_counts WHERE kind = ? AND object_id IN "
                      f"({', '.join('?' * len(ids))}) GROUP BY object_id", [kind, *ids]).fetchall()
    return {r[0]: r[1] for r in rows}


def most_viewed(db, limit=6, days=30):
    """Ids of the public active datasets viewed most in the last `days` days."""
    since = (date.today() - timedelta(days=days)).isoformat()
    rows = db.execute(
        "SELECT u.object_id FROM usage_counts u JOIN packages p ON p.id = u.object_id "
        "WHERE u.kind = 'view' AND u.day >= ? AND p.private = 0 AND p.state = 'active' "
        "GROUP BY u.object_id ORDER BY sum(u.count) DESC, u.object_id LIMIT ?", (since, limit)).fetchall()
    return [r[0] for r in rows]
