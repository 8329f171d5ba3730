"""Tag vocabularies (CKAN's controlled tag lists): sysadmins keep them; datasets carry their tags beside free
tags ({"name", "vocabulary_id"}); `fq=vocab_<name>:<tag>` finds them; tag_list and tag_show read them."""
from . import auth, search
from .dicts import tag_dict
from .errors import NotFound, ValidationError
from .params import as_bool, get_or_bust, name_errors, new_id, tag_errors
from .store import packages as package_store
from .store import vocabularies as vocab_store
from .store.db import transaction


def _dict(db, row):
    return {"id": row["id"], "name": row["name"], "tags": [tag_dict(t, row["id"]) for t in vocab_store.tags(db, row["id"])]}


def _require(ctx, ref):
    row = vocab_store.get(ctx.db, ref)
    if row is None:
        raise NotFound("Could not find vocabulary")
    return row


def _tag_names(data, errors):
    raw = data.get("tags")
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors["tags"] = ["Must be a list of {name}"]
        return []
    names = [(t.get("name") if isinstance(t, dict) else t) for t in raw]
    bad = [m for n in names for m in (tag_errors(n) if isinstance(n, str) else ["Tag name must be a string"])]
    if bad:
        errors["tags"] = bad
    return sorted({n.strip() for n in names if isinstance(n, str)})


def vocabulary_create(ctx, data):
    """Create a vocabulary with its tags (sysadmins): {name, tags: [{name}]}."""
    auth.require_sysadmin(ctx)
    name, errors = get_or_bust(data, "name"), {}
    if name_errors(name):
        errors["name"] = name_errors(name)
    elif vocab_store.get(ctx.db, name):
        errors["name"] = ["That vocabulary name is already in use."]
    tags = _tag_names(data, errors) or []
    if errors:
        raise ValidationError(errors)
    vid = new_id()
    with transaction(ctx.db):
        vocab_store.insert(ctx.db, vid, name)
        vocab_store.set_tags(ctx.db, vid, tags)
    return _dict(ctx.db, vocab_store.get(ctx.db, vid))


def vocabulary_update(ctx, data):
    """Rename a vocabulary or replace its tags (sysadmins); tags datasets still carry cannot be removed."""
    auth.require_sysadmin(ctx)
    row, errors = _require(ctx, get_or_bust(data, "id")), {}
    name = data.get("name")
    if name is not None and name != row["name"]:
        if name_errors(name):
            errors["name"] = name_errors(name)
        elif vocab_store.get(ctx.db, name):
            errors["name"] = ["That vocabulary name is already in use."]
    tags = _tag_names(data, errors)
    if tags is not None:
        dropped = sorted(set(vocab_store.tags(ctx.db, row["id"])) - set(tags))
        used = vocab_store.tags_in_use(ctx.db, row["id"], dropped)
        if used:
            errors.setdefault("tags", []).append(f"Tags in use by datasets: {', '.join(sorted(used))}")
    if errors:
        raise ValidationError(errors)
    with transaction(ctx.db):
        if name is not None and name != row["name"]:
            vocab_store.rename(ctx.db, row["id"], name)
        if tags is not None:
            vocab_store.set_tags(ctx.db, row["id"], tags)
    return _dict(ctx.db, vocab_store.get(ctx.db, row["id"]))


def vocabulary_delete(ctx, data):
    """Delete a vocabulary none of whose tags a dataset carries (sysadmins)."""
    auth.require_sysadmin(ctx)
    row = _require(ctx, get_or_bust(data, "id"))
    if vocab_store.in_use(ctx.db, row["id"]):
        raise ValidationError({"id": ["The vocabulary's tags are in use by datasets"]})
    with transaction(ctx.db):
        vocab_store.delete(ctx.db, row["id"])
    return None


def vocabulary_list(ctx, data):
    """Every vocabulary with its tags."""
    return [_dict(ctx.db, r) for r in vocab_store.all_rows(ctx.db)]


def vocabulary_show(ctx, data):
    """One vocabulary (by id or name) with its tags."""
    return _dict(ctx.db, _require(ctx, get_or_bust(data, "id")))


def vocabulary_tags(ctx, vocabulary_ref, query=None):
    """The tag names of a vocabulary, `query` as a substring (tag_list with vocabulary_id)."""
    row = _require(ctx, vocabulary_ref)
    names = vocab_store.tags(ctx.db, row["id"])
    return row["id"], [n for n in names if not query or str(query).lower() in n.lower()]


def tag_show(ctx, data):
    """A tag by name (or id): a free tag of a public dataset, or with `vocabulary_id` a vocabulary's tag;
    `include_datasets` adds the public datasets carrying it."""
    ref = get_or_bust(data, "id")
    vocab = _require(ctx, data["vocabulary_id"]) if data.get("vocabulary_id") else None
    # A free tag is looked up by name; by its (uuid) id only among every public tag.
    names = (vocab_store.tags(ctx.db, vocab["id"]) if vocab else
             package_store.public_tag_names(ctx.db, None if len(ref) == 36 else ref))
    vid = vocab["id"] if vocab else None
    tag = next((tag_dict(n, vid) for n in names if ref in (n, tag_dict(n, vid)["id"])), None)
    if tag is None:
        raise NotFound("Could not find tag")
    if as_bool(data, "include_datasets", False):
        field = f"vocab_{vocab['name']}" if vocab else "tags"
        escaped = tag["name"].replace("\\", "\\\\").replace('"', '\\"')
        tag["packages"] = search.package_search(ctx, {"fq": f'{field}:"{escaped}"', "rows": 1000})["results"]
    return tag
