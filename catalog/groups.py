"""Organizations and groups (one table, as in CKAN) and their members."""
import json

from . import auth, search
from .changes import record, touch_package
from .errors import NotAuthorized, NotFound, ValidationError
from .params import as_bool, as_int, as_list, get_or_bust, name_errors, new_id, now, text_or_none
from .store import groups as group_store
from .store import packages as package_store
from .store.db import transaction
from .store.following import follower_count
from .store.groups import get_group
from .store.packages import get_package
from .store.users import get_user

CAPACITIES = ("admin", "editor", "member")
LIST_MAX = 1000
LIST_ALL_FIELDS_MAX = 300


def _require(ctx, data, is_org):
    ref = get_or_bust(data, "id") if data.get("id") else get_or_bust(data, "name" if "name" in data else "id")
    row = get_group(ctx.db, ref, is_org=is_org)
    if not row:
        raise NotFound(f"{'Organization' if is_org else 'Group'} not found")
    return row


def _package_counts(ctx, group_ids, is_org):
    """{group id: datasets the caller may see}, from the search index's maintained counts (no scan per list)."""
    if not group_ids:
        return {}
    if is_org:
        counts = search.visible_counts(ctx, "owner_org")
        return {gid: counts[gid] for gid in group_ids if gid in counts}
    counts = search.visible_counts(ctx, "groups")
    rows = group_store.names_by_id(ctx.db, group_ids)
    return {r[0]: counts[r[1]] for r in rows if r[1] in counts}


def group_dict(ctx, row, *, include_users=True, include_datasets=False, package_count=None, site_url=""):
    """CKAN's group/organization dict."""
    d = {
        "id": row["id"], "name": row["name"], "title": row["title"], "display_name": row["title"] or row["name"],
        "type": row["type"], "description": row["description"], "image_url": row["image_url"],
        "image_display_url": row["image_url"], "created": row["created"],
        "is_organization": bool(row["is_organization"]), "approval_status": row["approval_status"],
        "state": row["state"], "extras": json.loads(row["extras"]), "tags": [], "groups": [], "num_followers": follower_count(ctx.db, row["id"]),
        "package_count": package_count if package_count is not None else _package_counts(ctx, [row["id"]], row["is_organization"]).get(row["id"], 0),
    }
    if include_users:
        users = group_store.member_users(ctx.db, row["id"])
        d["users"] = [{"id": u[0], "name": u[1], "fullname": u[2], "display_name": u[2] or u[1], "capacity": u[3]} for u in users]
    if include_datasets:
        fq = f'{"organization" if row["is_organization"] else "groups"}:"{row["name"]}"'
        d["packages"] = search.package_search(ctx, {"fq": fq, "rows": 1000, "include_private": False})["results"]
    return d


def _clean(ctx, data, errors, existing=None):
    out = {}
    if existing is None or "name" in data:
        name = data.get("name")
        if name in (None, ""):
            errors["name"] = ["Missing value"]
        elif name_errors(name):
            errors["name"] = name_errors(name)
        else:
            clash = group_store.id_named(ctx.db, name)
            if clash and (existing is None or clash != existing["id"]):
                errors["name"] = ["Group name already exists in database"]
            out["name"] = name
    for key in ("title", "description", "image_url"):
        if key in data:
            out[key] = text_or_none(data.get(key), key, errors) or ""
    if "extras" in data:
        extras = data.get("extras") or []
        if not isinstance(extras, list) or not all(isinstance(e, dict) and "key" in e for e in extras):
            errors["extras"] = ["Extras must be a list of {key, value}"]
        else:
            out["extras"] = json.dumps([{"key": str(e["key"]), "value": e.get("value")} for e in extras], ensure_ascii=False)
    return out


def _create(ctx, data, is_org):
    auth.require_sysadmin(ctx)
    errors = {}
    values = _clean(ctx, data, errors)
    gid = data.get("id") or new_id()
    if data.get("id") and group_store.exists(ctx.db, gid):
        errors["id"] = ["Group id already exists"]
    users = data.get("users") or []
    if errors:
        raise ValidationError(errors)
    gtype = "organization" if is_org else (data.get("type") or "group")
    with transaction(ctx.db):
        group_store.insert(ctx.db, gid, values, gtype, is_org, now())
        if ctx.user:
            group_store.add_member(ctx.db, gid, ctx.user_id, "admin")
        for u in users if isinstance(users, list) else []:
            _set_member(ctx, gid, u.get("name") or u.get("id"), u.get("capacity", "member"))
        row = get_group(ctx.db, gid)
        result = group_dict(ctx, row)
        record(ctx, gid, f"new {gtype if is_org else 'group'}", {"group": result})
    ctx.forget_capacities()
    return result


def _update(ctx, data, is_org, patch=False):
    row = _require(ctx, data, is_org)
    if not auth.can_admin_group(ctx, row["id"]):
        raise NotAuthorized(f"User not authorized to edit group {row['id']}")
    errors = {}
    merged = dict(data)
    if not patch:
        for key in ("title", "description", "image_url"):
            merged.setdefault(key, "")
    values = _clean(ctx, merged, errors, existing=row)
    if errors:
        raise ValidationError(errors)
    if values:
        with transaction(ctx.db):
            group_store.update(ctx.db, row["id"], values)
            if "users" in data and isinstance(data["users"], list) and not patch:
                for u in data["users"]:
                    _set_member(ctx, row["id"], u.get("name") or u.get("id"), u.get("capacity", "member"))
            record(ctx, row["id"], "changed organization" if is_org else "changed group", {"group": dict(values)})
    return group_dict(ctx, get_group(ctx.db, row["id"]))


def _delete(ctx, data, is_org):
    row = _require(ctx, data, is_org)
    if not auth.can_admin_group(ctx, row["id"]):
        raise NotAuthorized(f"User not authorized to delete group {row['id']}")
    with transaction(ctx.db):
        if is_org and package_store.org_has_packages(ctx.db, row["id"]):
            raise ValidationError({"message": "Organization cannot be deleted while it still has datasets"})
        group_store.mark_deleted(ctx.db, row["id"])
        record(ctx, row["id"], "deleted organization" if is_org else "deleted group", {"group": {"id": row["id"], "name": row["name"]}})
    return None


def _list(ctx, data, is_org):
    sort = str(data.get("sort") or "title asc").strip()
    key, _, direction = sort.partition(" ")
    columns = {"title": "title", "name": "name", "package_count": "package_count", "packages": "package_count"}
    if key not in columns or direction.strip() not in ("", "asc", "desc"):
        raise ValidationError({"sort": ["Cannot sort by field `%s`" % sort]})
    all_fields = as_bool(data, "all_fields", False)
    cap = LIST_ALL_FIELDS_MAX if all_fields else LIST_MAX
    limit = as_int(data, "limit", cap, maximum=cap)
    offset = as_int(data, "offset", 0)
    rows = group_store.active(ctx.db, is_org, group_type=None if is_org else (data.get("type") or "group"),
                              names=as_list(data, "organizations" if is_org else "groups"), q=data.get("q"))
    counts = _package_counts(ctx, [r["id"] for r in rows], is_org)
    desc = direction.strip() == "desc"
    col = columns[key]
    if col == "package_count":
        rows.sort(key=lambda r: (counts.get(r["id"], 0), r["name"]), reverse=not desc if direction.strip() == "" else desc)
    else:
        rows.sort(key=lambda r: ((r[col] or r["name"]).lower(), r["name"]), reverse=desc)
    rows = rows[offset: offset + limit]
    if not all_fields:
        return [r["name"] for r in rows]
    return [group_dict(ctx, r, include_users=as_bool(data, "include_users", False), package_count=counts.get(r["id"], 0)) for r in rows]


def _show(ctx, data, is_org):
    row = _require(ctx, data, is_org)
    return group_dict(ctx, row, include_users=as_bool(data, "include_users", True),
                      include_datasets=as_bool(data, "include_datasets", False))


def _set_member(ctx, group_id, username, capacity):
    if capacity not in CAPACITIES:
        raise ValidationError({"role": [f"Role must be one of {list(CAPACITIES)}"]})
    user = get_user(ctx.db, username)
    if not user:
        raise NotFound("User not found")
    group_store.set_member(ctx.db, group_id, user["id"], capacity)
    ctx.forget_capacities()
    return user


def organization_create(ctx, data):
    """Create an organization (sysadmin); the creator becomes its admin."""
    return _create(ctx, data, True)


def group_create(ctx, data):
    """Create a group (sysadmin); the creator becomes its admin."""
    return _create(ctx, data, False)


def organization_update(ctx, data):
    """Replace an organization's editable fields (org admin or sysadmin)."""
    return _update(ctx, data, True)


def organization_patch(ctx, data):
    """Change only the given fields of an organization."""
    return _update(ctx, data, True, patch=True)


def group_update(ctx, data):
    """Replace a group's editable fields (group admin or sysadmin)."""
    return _update(ctx, data, False)


def group_patch(ctx, data):
    """Change only the given fields of a group."""
    return _update(ctx, data, False, patch=True)


def organization_delete(ctx, data):
    """Soft-delete an empty organization."""
    return _delete(ctx, data, True)


def group_delete(ctx, data):
    """Soft-delete a group and drop its dataset memberships."""
    return _delete(ctx, data, False)


def organization_list(ctx, data):
    """Organization names, or dicts with all_fields=true."""
    return _list(ctx, data, True)


def group_list(ctx, data):
    """Group names, or dicts with all_fields=true."""
    return _list(ctx, data, False)


def organization_show(ctx, data):
    """One organization with its users and, optionally, its public datasets."""
    return _show(ctx, data, True)


def group_show(ctx, data):
    """One group with its users and, optionally, its public datasets."""
    return _show(ctx, data, False)


def organization_list_for_user(ctx, data):
    """Organizations the caller (or `id`) may edit in (permission=manage_group|create_dataset|read)."""
    if not ctx.user:
        return []
    perm = data.get("permission") or "manage_group"
    rows = group_store.active(ctx.db, True)
    wanted = {"read": CAPACITIES, "create_dataset": ("admin", "editor"), "update_dataset": ("admin", "editor")}.get(perm, ("admin",))
    caps = ctx.capacities()
    out = []
    for r in rows:
        if ctx.sysadmin or caps.get(r["id"]) in wanted:
            d = group_dict(ctx, r, include_users=False)
            d["capacity"] = "admin" if ctx.sysadmin else caps.get(r["id"])
            out.append(d)
    return out


def organization_member_create(ctx, data):
    """Add or change a user's role (admin/editor/member) in an organization."""
    row = _require(ctx, {"id": get_or_bust(data, "id")}, True)
    username = get_or_bust(data, "username")
    role = get_or_bust(data, "role")
    if not auth.can_admin_group(ctx, row["id"]):
        raise NotAuthorized("Only organization admins may manage members")
    with transaction(ctx.db):
        user = _set_member(ctx, row["id"], username, role)
    return {"group_id": row["id"], "table_name": "user", "table_id": user["id"], "capacity": role, "state": "active"}


def organization_member_delete(ctx, data):
    """Remove a user from an organization."""
    row = _require(ctx, {"id": get_or_bust(data, "id")}, True)
    user = get_user(ctx.db, get_or_bust(data, "username"))
    if not user:
        raise NotFound("User not found")
    if not auth.can_admin_group(ctx, row["id"]):
        raise NotAuthorized("Only organization admins may manage members")
    with transaction(ctx.db):
        group_store.remove_member(ctx.db, row["id"], user["id"])
    ctx.forget_capacities()
    return None


def member_create(ctx, data):
    """Add a dataset or a user to a group or organization (CKAN's member_create)."""
    gid = get_or_bust(data, "id")
    obj = get_or_bust(data, "object")
    obj_type = get_or_bust(data, "object_type")
    capacity = data.get("capacity") or "member"
    row = get_group(ctx.db, gid)
    if not row:
        raise NotFound("Group was not found.")
    if obj_type == "user":
        if not auth.can_admin_group(ctx, row["id"]):
            raise NotAuthorized("Only group admins may add users")
        with transaction(ctx.db):
            user = _set_member(ctx, row["id"], obj, capacity)
        return {"group_id": row["id"], "table_name": "user", "table_id": user["id"], "capacity": capacity, "state": "active"}
    if obj_type != "package":
        raise ValidationError({"object_type": ["Must be package or user"]})
    pkg = get_package(ctx.db, obj)
    if not pkg:
        raise NotFound("Package was not found.")
    if row["is_organization"]:
        raise ValidationError({"id": ["Use owner_org to move a dataset between organizations"]})
    if not (ctx.sysadmin or (auth.capacity(ctx, row["id"]) and auth.can_edit_org(ctx, pkg["owner_org"]))):
        raise NotAuthorized("You must be a member of the group and an editor of the dataset")
    with transaction(ctx.db):
        package_store.add_to_group(ctx.db, pkg["id"], row["id"])
        touch_package(ctx, pkg["id"], "changed package")
    return {"group_id": row["id"], "table_name": "package", "table_id": pkg["id"], "capacity": "public", "state": "active"}


def member_delete(ctx, data):
    """Remove a dataset or a user from a group."""
    gid = get_or_bust(data, "id")
    obj = get_or_bust(data, "object")
    obj_type = get_or_bust(data, "object_type")
    row = get_group(ctx.db, gid)
    if not row:
        raise NotFound("Group was not found.")
    if obj_type == "user":
        return organization_member_delete(ctx, {"id": row["id"], "username": obj}) if row["is_organization"] else _drop_user(ctx, row, obj)
    pkg = get_package(ctx.db, obj)
    if not pkg:
        raise NotFound("Package was not found.")
    if not (ctx.sysadmin or (auth.capacity(ctx, row["id"]) and auth.can_edit_org(ctx, pkg["owner_org"]))):
        raise NotAuthorized("You must be a member of the group and an editor of the dataset")
    with transaction(ctx.db):
        package_store.remove_from_group(ctx.db, pkg["id"], row["id"])
        touch_package(ctx, pkg["id"], "changed package")
    return None


def _drop_user(ctx, row, username):
    if not auth.can_admin_group(ctx, row["id"]):
        raise NotAuthorized("Only group admins may remove users")
    user = get_user(ctx.db, username)
    if user:
        with transaction(ctx.db):
            group_store.remove_member(ctx.db, row["id"], user["id"])
    ctx.forget_capacities()
    return None
