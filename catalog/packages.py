"""Datasets (CKAN packages): validation and the package_* actions."""
import json

from . import auth, gdc, resources, search
from .changes import reindex_and_log
from .dicts import package_dicts
from .groups import organization_create, organization_show
from .store import packages as package_store
from .store.db import transaction
from .store.groups import get_group
from .store.packages import get_package
from .store import resources as resource_store
from .store import vocabularies as vocab_store
from .errors import NotAuthorized, NotFound, ValidationError
from .params import (as_bool, as_int, get_or_bust, name_errors, new_id, now, tag_errors, text_or_none)

TEXT_FIELDS = {"title": None, "notes": None, "url": None, "version": 100, "author": None, "author_email": None,
               "maintainer": None, "maintainer_email": None, "license_id": None}
RESERVED = {"id", "name", "title", "type", "owner_org", "private", "state", "notes", "url", "version", "author",
            "author_email", "maintainer", "maintainer_email", "license_id", "tags", "tag_string", "groups",
            "resources", "extras", "metadata_created", "metadata_modified", "creator_user_id", "organization",
            "num_resources", "num_tags", "isopen", "license_title", "license_url", "relationships_as_object",
            "relationships_as_subject", "metadata_quality"}


def show(ctx, name_or_id):
    """The package dict the caller may read, or NotFound/NotAuthorized."""
    row = get_package(ctx.db, name_or_id, include_deleted=True)
    if not row or (row["state"] == "deleted" and not auth.can_edit_org(ctx, row["owner_org"])):
        raise NotFound("Package was not found.")
    auth.require_read_package(ctx, row)
    return package_dicts(ctx, [row["id"]])[0]


def _clean(ctx, data, existing):
    """Validate a full package dict; returns the parts to write or raises a 409."""
    errors = {}
    is_new = existing is None
    values = {}
    name = data.get("name")
    if is_new or "name" in data:
        _check_name(ctx, name, existing, errors)
        values["name"] = name
    for key, max_len in TEXT_FIELDS.items():
        values[key] = text_or_none(data.get(key), key, errors, max_len)
    for key in ("author_email", "maintainer_email"):
        if values[key] and not gdc.is_email(values[key]):
            errors.setdefault(key, []).append("Email is not valid")
    if not values["title"]:
        values["title"] = name if name else (existing["title"] if existing else "")
    values["type"] = str(data.get("type") or "dataset")
    owner = _owner_org(ctx, data, existing, errors)
    if owner:
        values["owner_org"] = owner
    try:
        values["private"] = as_bool(data, "private", False)
    except ValidationError as exc:
        errors.update(exc.errors)
    state = data.get("state") or "active"
    if state not in ("active", "draft") and not (ctx.sysadmin and state == "deleted"):
        errors["state"] = ["State must be active or draft"]
    values["state"] = state
    tags = _clean_tags(data, errors)
    values["vocabulary_tags"] = _clean_vocabulary_tags(ctx, data, errors)
    extras = _clean_extras(data, errors)
    groups = _clean_groups(ctx, data, errors)
    fields = gdc.clean(data, errors)
    raw_res = data.get("resources")
    res_in = _clean_resources(raw_res, errors)
    if ctx.settings.gdc_strict:
        candidate = {**values, **fields, "tags": tags}
        gdc.check_required(candidate, errors)
    if errors:
        raise ValidationError(errors)
    values["extras"] = json.dumps(extras, ensure_ascii=False)
    values["fields"] = json.dumps(fields, ensure_ascii=False)
    return values, tags, groups, res_in if raw_res is not None else None


def _check_name(ctx, name, existing, errors):
    if name in (None, ""):
        errors["name"] = ["Missing value"]
    elif name_errors(name):
        errors["name"] = name_errors(name)
    else:
        clash = package_store.live_id_named(ctx.db, name)
        if clash and (existing is None or clash != existing["id"]):
            errors["name"] = ["That URL is already in use."]


def _owner_org(ctx, data, existing, errors):
    """The id of the organization the dataset belongs to, or None after noting why; NotAuthorized when the
    caller may not add datasets to it."""
    owner = data.get("owner_org") or (existing["owner_org"] if existing is not None and "owner_org" not in data else None)
    if not owner:
        errors["owner_org"] = ["An organization must be provided"]
        return None
    org = get_group(ctx.db, owner, is_org=True)
    if not org:
        errors["owner_org"] = ["Organization does not exist"]
        return None
    # A collaborator may edit the dataset where it is; moving it needs the right to add to the new organization.
    stays = existing is not None and existing["owner_org"] == org["id"] and auth.can_edit_package(ctx, existing)
    if not stays and not auth.can_edit_org(ctx, org["id"]):
        raise NotAuthorized(f"User {ctx.user['name'] if ctx.user else 'anonymous'} not authorized to add dataset "
                            "to this organization")
    return org["id"]


def _clean_resources(raw_res, errors):
    """[(id or None, values, extras)] of a dataset's resource dicts, noting each one's errors by position."""
    res_errors, res_in = {}, []
    if raw_res is not None and not isinstance(raw_res, list):
        errors["resources"] = ["Must be a list"]
    for i, r in enumerate(raw_res or []):
        cleaned = resources.clean(r, i, res_errors)
        if cleaned:
            rid = r.get("id") if isinstance(r, dict) else None
            res_in.append((rid, *cleaned))
    if res_errors:
        errors["resources"] = [res_errors.get(i, {}) for i in range(len(raw_res))]
    return res_in


def _clean_tags(data, errors):
    names = []
    if data.get("tags") not in (None, ""):
        raw = data["tags"]
        if isinstance(raw, str):
            raw = [{"name": t} for t in raw.split(",")]
        if not isinstance(raw, list):
            errors["tags"] = ["Must be a list of {name}"]
            return []
        for t in raw:
            if isinstance(t, dict) and t.get("vocabulary_id"):
                continue   # a vocabulary's tag (_clean_vocabulary_tags)
            n = (t.get("name") if isinstance(t, dict) else t)
            names.append(n.strip() if isinstance(n, str) else n)
    elif data.get("tag_string"):
        names = [t.strip() for t in str(data["tag_string"]).split(",") if t.strip()]
    msgs = [m for n in names for m in tag_errors(n)]
    if msgs:
        errors["tags"] = msgs
    return sorted(set(n for n in names if isinstance(n, str)))


def _clean_vocabulary_tags(ctx, data, errors):
    """(vocabulary id, tag) pairs of the tags that name a vocabulary; each must be one of that vocabulary's tags."""
    raw = data.get("tags")
    pairs = []
    for t in raw if isinstance(raw, list) else []:
        if not (isinstance(t, dict) and t.get("vocabulary_id")):
            continue
        vocab = vocab_store.get(ctx.db, str(t["vocabulary_id"]))
        name = str(t.get("name") or "").strip()
        if vocab is None:
            errors.setdefault("tags", []).append(f"Tag vocabulary \"{t['vocabulary_id']}\" does not exist")
        elif name not in vocab_store.tags(ctx.db, vocab["id"]):
            errors.setdefault("tags", []).append(f"Tag {name} does not belong to vocabulary {vocab['name']}")
        else:
            pairs.append((vocab["id"], name))
    return sorted(set(pairs))


def _clean_extras(data, errors):
    raw = data.get("extras") or []
    if isinstance(raw, dict):
        raw = [{"key": k, "value": v} for k, v in raw.items()]
    if not isinstance(raw, list):
        errors["extras"] = ["Must be a list of {key, value}"]
        return []
    out, seen = [], set()
    gdc_names = set(gdc.field_names())
    for e in raw:
        if not isinstance(e, dict) or "key" not in e:
            errors.setdefault("extras", []).append("Each extra needs a key")
            continue
        key = str(e["key"])
        if e.get("deleted"):
            continue
        if key in seen:
            errors.setdefault("extras", []).append(f"Duplicate key \"{key}\"")
        if key in RESERVED or key in gdc_names:
            errors.setdefault("extras", []).append(f"There is a schema field with the same name: {key}")
        seen.add(key)
        value = e.get("value")
        out.append({"key": key, "value": value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)})
    return out


def _clean_groups(ctx, data, errors):
    raw = data.get("groups") or []
    if not isinstance(raw, list):
        errors["groups"] = ["Must be a list of {id or name}"]
        return []
    ids = []
    for g in raw:
        ref = g.get("id") or g.get("name") if isinstance(g, dict) else g
        row = get_group(ctx.db, ref, is_org=False)
        if row:
            ids.append(row["id"])
        elif not ctx.sysadmin:
            errors.setdefault("groups", []).append("Group was not found.")
        # A sysadmin's dataset is kept and the unknown group skipped, as CKAN does: `ckanapi load datasets`
        # from a portal whose groups were not loaded first still brings every dataset.
    return sorted(set(ids))


def _write(ctx, pid, values, tags, groups, res_in, existing):
    ts = now()
    db = ctx.db
    quality = gdc.quality({**values, **json.loads(values["fields"]), "tags": tags, "resources": res_in or []})["score"]
    if existing is None:
        package_store.insert(db, pid, values, ctx.user_id, ts, quality)
    else:
        package_store.update(db, pid, values, ts, quality)
    package_store.set_tags_and_groups(db, pid, tags, groups)
    vocab_store.set_package_tags(db, pid, values["vocabulary_tags"])
    if res_in is not None:
        _write_resources(ctx, pid, res_in)


def _write_resources(ctx, pid, res_in):
    db = ctx.db
    current = {r["id"]: r for r in resource_store.all_of(db, pid)}
    kept = set()
    for pos, (rid, values, extras) in enumerate(res_in):
        if rid and rid in current:
            resources.update(ctx, current[rid], values, extras, position=pos)
            kept.add(rid)
        else:
            if rid and resource_store.exists(db, rid):
                raise ValidationError({"resources": [{"id": ["Resource id already belongs to another dataset"]}]})
            kept.add(resources.insert(ctx, pid, pos, values, extras, rid=rid))
    gone = [r for r in current if r not in kept and current[r]["state"] == "active"]
    resource_store.mark_deleted(db, gone, now())


def package_create(ctx, data):
    """Create a dataset in an organization the caller edits; findable as soon as this returns."""
    auth.require_user(ctx)
    values, tags, groups, res_in = _clean(ctx, data, None)
    pid = new_id()
    if data.get("id") and ctx.sysadmin:
        pid = str(data["id"])
        if package_store.exists(ctx.db, pid):
            raise ValidationError({"id": ["Dataset id already exists"]})
    with transaction(ctx.db):
        _write(ctx, pid, values, tags, groups, res_in, None)
        return reindex_and_log(ctx, pid, "new package")


def package_update(ctx, data):
    """Replace a dataset: fields, tags, groups and (when given) resources."""
    ref = data.get("id") or data.get("name")
    if not ref:
        raise ValidationError({"id": "Missing value"})
    row = get_package(ctx.db, ref)
    if not row:
        raise NotFound("Package was not found.")
    auth.require_edit_package(ctx, row)
    merged = dict(data)
    if "name" not in merged:
        merged["name"] = row["name"]
    values, tags, groups, res_in = _clean(ctx, merged, row)
    with transaction(ctx.db):
        _write(ctx, row["id"], values, tags, groups, res_in, row)
        return reindex_and_log(ctx, row["id"], "changed package")


def package_patch(ctx, data):
    """Change only the given keys of a dataset."""
    ref = get_or_bust(data, "id")
    current = show(ctx, ref)
    merged = {**current, **{k: v for k, v in data.items() if k != "id"}}
    merged["id"] = current["id"]
    if "tags" not in data and "tag_string" in data:
        merged.pop("tags", None)
    return package_update(ctx, merged)


def package_delete(ctx, data):
    """Soft-delete a dataset (state=deleted) and drop its group memberships."""
    row = get_package(ctx.db, get_or_bust(data, "id"))
    if not row:
        raise NotFound("Package was not found.")
    auth.require_edit_package(ctx, row)
    with transaction(ctx.db):
        package_store.mark_deleted(ctx.db, row["id"], now())
        reindex_and_log(ctx, row["id"], "deleted package")
    return None


def package_show(ctx, data):
    """A dataset by name or id, with resources, tags, groups, organization and GDC fields."""
    ref = data.get("id") or data.get("name_or_id")
    if not ref:
        raise ValidationError({"id": ["Missing value"]})
    return show(ctx, ref)


def package_list(ctx, data):
    """Names of active public datasets, ordered by name."""
    limit = as_int(data, "limit", None)
    offset = as_int(data, "offset", 0)
    return package_store.public_names(ctx.db, limit, offset)


def current_package_list_with_resources(ctx, data):
    """Package dicts, most recently modified first (private only for sysadmins)."""
    limit = as_int(data, "limit", 10, maximum=1000)
    offset = as_int(data, "offset", 0)
    page = as_int(data, "page", None, minimum=1)
    if page:
        offset = (page - 1) * limit
    result = search.package_search(ctx, {"sort": "metadata_modified desc", "rows": limit, "start": offset,
                                         "include_private": ctx.sysadmin})
    return result["results"]


def ensure_package(ctx, org, package):
    """The dataset named package["name"], created (with its organization org["name"]) if missing."""
    try:
        organization_show(ctx, {"id": org["name"]})
    except NotFound:
        organization_create(ctx, org)
    try:
        return package_show(ctx, {"id": package["name"]})
    except NotFound:
        return package_create(ctx, {**package, "owner_org": org["name"]})
