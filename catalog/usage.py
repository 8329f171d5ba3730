"""Page views and downloads, counted per object and day (dataset pages and resource downloads)."""
import sqlite3
from datetime import date, timedelta

from .db import transaction


def record(db, object_id, kind):
    """Count one view or download; a busy database drops the count rather than the request."""
    try:
        with transaction(db):
            db.execute("INSERT INTO usage_counts (object_id, kind, day, count) VALUES (?, ?, ?, 1) "
                       "ON CONFLICT (object_id, kind, day) DO UPDATE SET count = usage_counts.count + 1",
                       (object_id, kind, date.today().isoformat()))
    except sqlite3.OperationalError:
        pass


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
