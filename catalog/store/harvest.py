"""Harvest sources, their jobs, and the records each source brought in."""

SOURCE_EDITABLE = ("url", "org", "fq", "every_seconds", "detached")


def harvested_from(db, package_id):
    """The name of the attached harvest source a dataset comes from, or None."""
    row = db.execute("SELECT s.name FROM harvest_objects o JOIN harvest_sources s ON s.id = o.source_id "
                     "WHERE o.package_id = ? AND s.detached = 0 AND s.state = 'active'", (package_id,)).fetchone()
    return row[0] if row else None


def name_taken(db, name):
    """True when a source (in any state) has this name."""
    return db.execute("SELECT 1 FROM harvest_sources WHERE name = ?", (name,)).fetchone() is not None


def insert_source(db, sid, name, url, kind, org, fq, every, ts):
    """Insert a harvest source."""
    db.execute("INSERT INTO harvest_sources (id, name, url, type, org, fq, every_seconds, created) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (sid, name, url, kind, org, fq, every, ts))


def get_source(db, ref):
    """A source row by id or name (not deleted), or None."""
    if not isinstance(ref, str):
        return None
    return db.execute("SELECT * FROM harvest_sources WHERE (id = ? OR name = ?) AND state = 'active'",
                      (ref, ref)).fetchone()


def source_by_id(db, sid):
    """A source row by id, in any state, or None."""
    return db.execute("SELECT * FROM harvest_sources WHERE id = ?", (sid,)).fetchone()


def sources(db):
    """Every active source, by name."""
    return db.execute("SELECT * FROM harvest_sources WHERE state = 'active' ORDER BY name").fetchall()


def update_source(db, sid, values):
    """Change the given editable columns of a source."""
    columns = [k for k in values if k in SOURCE_EDITABLE]   # column names from the allow-list only
    db.execute(f"UPDATE harvest_sources SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = ?",
               [*(values[k] for k in columns), sid])


def delete_source(db, sid):
    """Mark a source deleted and detached, freeing its name."""
    db.execute("UPDATE harvest_sources SET state = 'deleted', detached = 1, name = name || '-deleted-' || ? "
               "WHERE id = ?", (sid[:8], sid))


def set_seen_until(db, sid, modified):
    """Remember the newest remote change harvested from a source."""
    db.execute("UPDATE harvest_sources SET last_modified_seen = ? WHERE id = ?", (modified, sid))


def scheduled_sources(db):
    """Attached, scheduled sources with the creation time of their last job (`last`)."""
    return db.execute("SELECT s.*, (SELECT max(created) FROM harvest_jobs j WHERE j.source_id = s.id) AS last "
                      "FROM harvest_sources s WHERE s.state = 'active' AND s.every_seconds IS NOT NULL "
                      "AND s.detached = 0").fetchall()


def object_count(db, sid):
    """How many records a source brought in."""
    return db.execute("SELECT count(*) FROM harvest_objects WHERE source_id = ?", (sid,)).fetchone()[0]


def last_job(db, sid):
    """A source's newest job row, or None."""
    return db.execute("SELECT * FROM harvest_jobs WHERE source_id = ? ORDER BY created DESC LIMIT 1", (sid,)).fetchone()


def active_job(db, sid):
    """A source's pending or running job row, or None."""
    return db.execute("SELECT * FROM harvest_jobs WHERE source_id = ? AND state IN ('pending', 'running')",
                      (sid,)).fetchone()


def insert_job(db, jid, sid, ts):
    """Queue a pending job."""
    db.execute("INSERT INTO harvest_jobs (id, source_id, state, created) VALUES (?, ?, 'pending', ?)", (jid, sid, ts))


def get_job(db, jid):
    """A harvest job row by id, or None."""
    return db.execute("SELECT * FROM harvest_jobs WHERE id = ?", (jid,)).fetchone()


def jobs_of(db, sid, limit=100):
    """A source's job rows, newest first."""
    return db.execute("SELECT * FROM harvest_jobs WHERE source_id = ? ORDER BY created DESC LIMIT ?",
                      (sid, limit)).fetchall()


def finish_job(db, jid, state, ts, stats_json, log_json, error):
    """Record how a job ended."""
    db.execute("UPDATE harvest_jobs SET state = ?, finished = ?, stats = ?, log = ?, error = ? WHERE id = ?",
               (state, ts, stats_json, log_json, error, jid))


def record_object(db, source_id, remote_id, remote_name, package_id, remote_url, remote_modified, content_hash):
    """Remember which local dataset a remote record became."""
    db.execute("INSERT INTO harvest_objects (source_id, remote_id, remote_name, package_id, remote_url, "
               "remote_modified, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, remote_id) DO "
               "UPDATE SET remote_name = excluded.remote_name, package_id = excluded.package_id, remote_url = "
               "excluded.remote_url, remote_modified = excluded.remote_modified, content_hash = excluded.content_hash",
               (source_id, remote_id, remote_name, package_id, remote_url, remote_modified, content_hash))


def objects(db, source_id):
    """{remote_id: row} of what a source brought in."""
    return {r["remote_id"]: r for r in db.execute("SELECT * FROM harvest_objects WHERE source_id = ?",
                                                  (source_id,)).fetchall()}


def forget_object(db, source_id, remote_id):
    """Drop the link of a withdrawn record."""
    db.execute("DELETE FROM harvest_objects WHERE source_id = ? AND remote_id = ?", (source_id, remote_id))
