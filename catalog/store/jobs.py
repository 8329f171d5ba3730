"""Work queues (DataStore loads in `jobs`, harvest runs in `harvest_jobs`): queueing, claiming, finishing."""
from .db import dialect

QUEUES = ("jobs", "harvest_jobs")   # tables of background work, each claimed the same way


def _queue(table):
    if table not in QUEUES:
        raise ValueError(table)
    return table


def insert_load(db, jid, resource_id, ts, sha256, user_id):
    """Queue a pending DataStore load."""
    db.execute("INSERT INTO jobs (id, resource_id, kind, state, created, source_sha256, user_id) "
               "VALUES (?, ?, 'datastore_load', 'pending', ?, ?, ?)", (jid, resource_id, ts, sha256, user_id))


def oldest_pending(db, table):
    """The id of a queue's oldest pending row, or None."""
    row = db.execute(f"SELECT id FROM {_queue(table)} WHERE state = 'pending' ORDER BY created LIMIT 1").fetchone()
    return row[0] if row else None


def claim_oldest(db, table, ts, worker, lease_until):
    """Mark the queue's oldest pending row running for `worker` until `lease_until` and commit; its row, or None
    when nothing is pending."""
    if dialect(db) == "postgresql":
        # Several nodes claim at once: each skips the rows another is claiming instead of waiting for its lock.
        row = db.execute(f"UPDATE {_queue(table)} SET state = 'running', started = ?, error = NULL, worker = ?, "
                         f"lease_until = ? WHERE id = (SELECT id FROM {table} WHERE state = 'pending' "
                         "ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *", (ts, worker, lease_until)).fetchone()
        db.commit()
        return row
    while True:   # SQLite has one writer: a conditional UPDATE, retried if another process took the row first
        job_id = oldest_pending(db, table)
        if job_id is None:
            return None
        row = claim(db, table, job_id, ts, worker, lease_until)
        if row is not None:
            return row


def claim(db, table, job_id, ts, worker, lease_until):
    """Mark one pending row running for `worker` until `lease_until` and commit; its row, or None when another
    worker has it."""
    cur = db.execute(f"UPDATE {_queue(table)} SET state = 'running', started = ?, error = NULL, worker = ?, "
                     "lease_until = ? WHERE id = ? AND state = 'pending'", (ts, worker, lease_until, job_id))
    db.commit()
    return db.execute(f"SELECT * FROM {table} WHERE id = ?", (job_id,)).fetchone() if cur.rowcount == 1 else None


def running(db, table):
    """(id, worker, lease_until) of a queue's running rows."""
    return db.execute(f"SELECT id, worker, lease_until FROM {_queue(table)} WHERE state = 'running'").fetchall()


def renew(db, table, job_id, worker, lease_until):
    """Extend a running row's lease, if this worker still holds it; True when it does."""
    cur = db.execute(f"UPDATE {_queue(table)} SET lease_until = ? WHERE id = ? AND worker = ? AND state = 'running'",
                     (lease_until, job_id, worker))
    return cur.rowcount == 1


def finish_load(db, job_id, state, ts, error, report_json):
    """Record a load job's outcome and commit."""
    db.execute("UPDATE jobs SET state = ?, finished = ?, error = ?, report = ? WHERE id = ?",
               (state, ts, error, report_json, job_id))
    db.commit()


def latest_load(db, resource_id):
    """The newest load job row of a resource, or None."""
    return db.execute("SELECT * FROM jobs WHERE resource_id = ? ORDER BY created DESC LIMIT 1", (resource_id,)).fetchone()


def counts_by_state(db, table):
    """{state: number of rows} of a work queue."""
    return {r[0]: r[1] for r in db.execute(f"SELECT state, count(*) FROM {_queue(table)} GROUP BY state")}
