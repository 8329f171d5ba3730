"""Groups and organizations (one table, as in CKAN) and their members."""


def _marks(values):
    return ",".join("?" * len(values))


def get_group(db, name_or_id, *, is_org=None, include_deleted=False):
    """A group or organization row by name or id, or None."""
    if not name_or_id or not isinstance(name_or_id, str):   # ids and names are text; nothing else matches
        return None
    sql = "SELECT * FROM groups WHERE (id = ? OR name = ?)"
    args = [name_or_id, name_or_id]
    if is_org is not None:
        sql += " AND is_organization = ?"
        args.append(int(is_org))
    if not include_deleted:
        sql += " AND state <> 'deleted'"
    return db.execute(sql, args).fetchone()


def names_by_id(db, ids):
    """(id, name) pairs of the given groups."""
    return db.execute(f"SELECT id, name FROM groups WHERE id IN ({_marks(ids)})", list(ids)).fetchall()


def titles_named(db, names):
    """{name: title} of the groups and organizations with these names (those that have a title)."""
    names = list(names)
    if not names:
        return {}
    return {r[0]: r[1] for r in db.execute(f"SELECT name, title FROM groups WHERE name IN ({','.join('?' * len(names))})",
                                           names) if r[1]}


def id_named(db, name):
    """The id of the group or organization with this name (in any state), or None."""
    row = db.execute("SELECT id FROM groups WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def exists(db, gid):
    """True when a group row has this id."""
    return db.execute("SELECT 1 FROM groups WHERE id = ?", (gid,)).fetchone() is not None


def insert(db, gid, values, gtype, is_org, ts):
    """Insert a group or organization from cleaned values."""
    db.execute(
        "INSERT INTO groups (id, name, title, description, image_url, type, is_organization, extras, created) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        (gid, values["name"], values.get("title") or "", values.get("description") or "", values.get("image_url") or "",
         gtype, int(is_org), values.get("extras", "[]"), ts),
    )


EDITABLE = ("name", "title", "description", "image_url", "extras")


def update(db, gid, values):
    """Change the given editable columns of a group."""
    columns = [k for k in values if k in EDITABLE]   # column names from the allow-list only
    db.execute(f"UPDATE groups SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = ?",
               [*(values[k] for k in columns), gid])


def mark_deleted(db, gid):
    """Soft-delete a group and drop its dataset links."""
    db.execute("UPDATE groups SET state = 'deleted' WHERE id = ?", (gid,))
    db.execute("DELETE FROM package_groups WHERE group_id = ?", (gid,))


def active(db, is_org, *, group_type=None, names=None, q=None):
    """Active groups (or organizations) by name, optionally of a type, named, or matching `q` in name/title/description."""
    sql = "SELECT * FROM groups WHERE is_organization = ? AND state = 'active'"
    args = [int(is_org)]
    if group_type is not None:
        sql += " AND type = ?"
        args.append(group_type)
    if names:
        sql += f" AND name IN ({_marks(names)})"
        args += names
    if q:
        sql += " AND (lower(name) LIKE ? OR lower(title) LIKE ? OR lower(description) LIKE ?)"
        args += [f"%{str(q).lower()}%"] * 3
    return db.execute(sql + " ORDER BY name", args).fetchall()


def member_users(db, gid):
    """(user id, name, fullname, capacity) of a group's members, by user name."""
    return db.execute(
        "SELECT u.id, u.name, u.fullname, m.capacity FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.group_id = ? ORDER BY u.name", (gid,)).fetchall()


def members(db, gid):
    """(user id, capacity) of a group's members, by user id."""
    return db.execute("SELECT user_id, capacity FROM memberships WHERE group_id = ? ORDER BY user_id", (gid,)).fetchall()


def capacities_of(db, user_id):
    """{group id: capacity} of one user."""
    return {r[0]: r[1] for r in db.execute("SELECT group_id, capacity FROM memberships WHERE user_id = ?", (user_id,))}


def set_member(db, gid, user_id, capacity):
    """Add a member or change their capacity."""
    db.execute(
        "INSERT INTO memberships (group_id, user_id, capacity) VALUES (?,?,?) "
        "ON CONFLICT (group_id, user_id) DO UPDATE SET capacity = excluded.capacity",
        (gid, user_id, capacity),
    )


def add_member(db, gid, user_id, capacity):
    """Add a new member (the creator of a group)."""
    db.execute("INSERT INTO memberships (group_id, user_id, capacity) VALUES (?,?,?)", (gid, user_id, capacity))


def remove_member(db, gid, user_id):
    """Remove a user from a group."""
    db.execute("DELETE FROM memberships WHERE group_id = ? AND user_id = ?", (gid, user_id))


def active_names(db, is_org):
    """(name, created) of active groups (or organizations), by name."""
    return db.execute("SELECT name, created FROM groups WHERE is_organization = ? AND state = 'active' ORDER BY name",
                      (int(is_org),)).fetchall()
