"""Citizens' side of the catalogue: comments on datasets and data requests."""


def insert_comment(db, cid, package_id, user_id, author_name, body, state, ts):
    """Insert a comment."""
    db.execute("INSERT INTO comments (id, package_id, user_id, author_name, body, state, created) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", (cid, package_id, user_id, author_name, body, state, ts))


def comment(db, cid):
    """A comment row by id, or None."""
    return db.execute("SELECT * FROM comments WHERE id = ?", (cid,)).fetchone()


def comments_of(db, package_id, states):
    """A dataset's comment rows in the given states, oldest first."""
    return db.execute(f"SELECT * FROM comments WHERE package_id = ? AND state IN ({', '.join('?' * len(states))}) "
                      "ORDER BY created, id", (package_id, *states)).fetchall()


def moderate_comment(db, cid, state, user_id):
    """Set a comment's state and who moderated it."""
    db.execute("UPDATE comments SET state = ?, moderated_by = ? WHERE id = ?", (state, user_id, cid))


def datarequest(db, rid):
    """A data request row by id, or None."""
    return db.execute("SELECT * FROM datarequests WHERE id = ?", (rid,)).fetchone()


def insert_datarequest(db, rid, title, description, org_id, user_id, name, email, ts):
    """Insert an open data request."""
    db.execute("INSERT INTO datarequests (id, title, description, organization_id, user_id, requester_name, "
               "requester_email, status, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
               (rid, title, description, org_id, user_id, name, email, ts, ts))


def datarequests(db, status, organization, limit, offset):
    """(count, rows newest first) of data requests, optionally of a status and an organization (id or name)."""
    where, args = ["1 = 1"], []
    if status:
        where.append("status = ?")
        args.append(status)
    if organization:
        where.append("organization_id = (SELECT id FROM groups WHERE id = ? OR name = ?)")
        args += [organization] * 2
    count = db.execute(f"SELECT count(*) FROM datarequests WHERE {' AND '.join(where)}", args).fetchone()[0]
    rows = db.execute(f"SELECT * FROM datarequests WHERE {' AND '.join(where)} ORDER BY created DESC, id "
                      f"LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    return count, rows


def answer_datarequest(db, rid, status, answer, package_id, org_id, user_id, ts):
    """Record an organization's answer to a data request."""
    db.execute("UPDATE datarequests SET status = ?, answer = ?, package_id = ?, organization_id = ?, "
               "answered_by = ?, modified = ? WHERE id = ?", (status, answer, package_id, org_id, user_id, ts, rid))
