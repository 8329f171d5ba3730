"""Users, their API tokens (sha256 hashes only) and session epochs."""

EDITABLE = ("fullname", "about", "email")


def get_user(db, name_or_id):
    """An active user row by name or id, or None."""
    if not name_or_id or not isinstance(name_or_id, str):   # ids and names are text; nothing else matches
        return None
    return db.execute(
        "SELECT * FROM users WHERE (id = ? OR name = ?) AND state = 'active'", (name_or_id, name_or_id)
    ).fetchone()


def by_id(db, user_id):
    """A user row by id, in any state, or None."""
    return db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def by_login(db, name_or_email):
    """An active user row by name or e-mail, or None."""
    return db.execute("SELECT * FROM users WHERE (name = ? OR email = ?) AND state = 'active'",
                      (name_or_email, name_or_email)).fetchone()


def by_token_hash(db, token_hash):
    """(id, name, sysadmin) of the active user owning a token hash, or None."""
    return db.execute(
        "SELECT u.id, u.name, u.sysadmin FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND u.state = 'active'", (token_hash,)).fetchone()


def first_sysadmin(db):
    """(id, name) of the earliest active sysadmin, or None."""
    return db.execute("SELECT id, name FROM users WHERE sysadmin = 1 AND state = 'active' ORDER BY created LIMIT 1"
                      ).fetchone()


def name_taken(db, name):
    """True when a user (in any state) has this name."""
    return db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None


def active(db):
    """Every active user row, by name."""
    return db.execute("SELECT * FROM users WHERE state = 'active' ORDER BY name").fetchall()


def insert(db, uid, name, fullname, email, password_hash, sysadmin, ts, state="active"):
    """Insert a user (`pending`: registered, its e-mail not yet verified)."""
    db.execute(
        "INSERT INTO users (id, name, fullname, email, password_hash, sysadmin, created, state) VALUES (?,?,?,?,?,?,?,?)",
        (uid, name, fullname, email, password_hash, int(sysadmin), ts, state),
    )


def email_taken(db, email):
    """True when an active or pending account has this e-mail (compared without case)."""
    return db.execute("SELECT 1 FROM users WHERE lower(email) = lower(?) AND state IN ('active', 'pending')",
                      (email,)).fetchone() is not None


def delete_pending(db, user_id):
    """Remove a registration that never got its verification mail (nothing else refers to it yet)."""
    db.execute("DELETE FROM users WHERE id = ? AND state = 'pending'", (user_id,))


def activate(db, user_id):
    """Make a pending account active (its e-mail is verified)."""
    db.execute("UPDATE users SET state = 'active' WHERE id = ? AND state = 'pending'", (user_id,))


def update(db, user_id, values):
    """Change the given editable columns of a user."""
    columns = [k for k in values if k in EDITABLE]   # column names from the allow-list only
    db.execute(f"UPDATE users SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = ?",
               [*(values[k] for k in columns), user_id])


def session_epoch(db, user_id):
    """The active user's session epoch, or None."""
    row = db.execute("SELECT session_epoch FROM users WHERE id = ? AND state = 'active'", (user_id,)).fetchone()
    return row[0] if row else None


def end_sessions(db, user_id):
    """Void every session of the user."""
    db.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,))


def set_password_hash(db, user_id, password_hash, end_sessions=True):
    """Store a new password hash; with end_sessions, every session of the user ends."""
    sql = ("UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?" if end_sessions else
           "UPDATE users SET password_hash = ? WHERE id = ?")
    db.execute(sql, (password_hash, user_id))


def close(db, user_id):
    """Close an account: deleted, sessions ended, tokens, memberships, collaborations and follows gone."""
    db.execute("UPDATE users SET state = 'deleted', session_epoch = session_epoch + 1 WHERE id = ?", (user_id,))
    db.execute("DELETE FROM api_tokens WHERE user_id = ?", (user_id,))
    db.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))
    db.execute("DELETE FROM following WHERE follower_id = ? OR object_id = ?", (user_id, user_id))
    db.execute("DELETE FROM package_collaborators WHERE user_id = ?", (user_id,))


def insert_token(db, tid, user_id, name, token_hash, ts):
    """Store an API token's hash."""
    db.execute("INSERT INTO api_tokens (id, user_id, name, token_hash, created) VALUES (?,?,?,?,?)",
               (tid, user_id, name, token_hash, ts))


def tokens_of(db, user_id):
    """(id, name, created, last_access) of a user's tokens, oldest first."""
    return db.execute("SELECT id, name, created, last_access FROM api_tokens WHERE user_id = ? ORDER BY created",
                      (user_id,)).fetchall()


def token_owner(db, token_id, token_hash):
    """The user id owning a token given by id or hash, or None."""
    row = db.execute("SELECT user_id FROM api_tokens WHERE id = ? OR token_hash = ?", (token_id, token_hash)).fetchone()
    return row[0] if row else None


def delete_token(db, token_id, token_hash):
    """Delete a token given by id or hash."""
    db.execute("DELETE FROM api_tokens WHERE id = ? OR token_hash = ?", (token_id, token_hash))
