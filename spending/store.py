"""Spending's own rows in the catalogue database: which resources feed the spending model (created by
spending/migrations/, registered with the catalogue store when spending is imported)."""
import time
from pathlib import Path

from catalog.store import db

db.register_migrations("spending", Path(__file__).with_name("migrations"))


def register_feed(conn, resource_id, feed, source):
    """Mark a resource as feeding a spending table (inside the caller's transaction)."""
    conn.execute("INSERT INTO spending_feeds (resource_id, feed, source, added) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (resource_id) DO UPDATE SET feed = excluded.feed, source = excluded.source",
                 (resource_id, feed, source, time.strftime("%Y-%m-%dT%H:%M:%S")))


def feeds(conn):
    """{resource id: (feed, source)} of every registered feed."""
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT resource_id, feed, source FROM spending_feeds")}
