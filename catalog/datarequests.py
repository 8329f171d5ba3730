"""Data requests: anyone asks for a dataset, the organization answers (open -> answered -> published)."""
from . import auth
from .store.db import transaction
from .errors import NotAuthorized, NotFound, ValidationError
from .params import as_int, get_or_bust, new_id, now, text_or_none
from .store import participation as participation_store
from .store.groups import get_group
from .store.packages import get_package

STATUSES = ("open", "answered", "published")


def _row(db, rid):
    row = participation_store.datarequest(db, rid)
    if row is None:
        raise NotFound("Data request was not found.")
    return row


def _can_answer(ctx, row):
    return ctx.sysadmin or bool(row["organization_id"]) and auth.can_edit_org(ctx, row["organization_id"])


def _dict(ctx, row):
    org = get_group(ctx.db, row["organization_id"]) if row["organization_id"] else None
    pkg = get_package(ctx.db, row["package_id"]) if row["package_id"] else None
    if pkg is not None and not auth.can_read_package(ctx, pkg):
        pkg = None   # a private fulfilling dataset is not revealed
    out = {"id": row["id"], "title": row["title"], "description": row["description"], "status": row["status"],
           "requester_name": row["requester_name"], "user_id": row["user_id"], "answer": row["answer"],
           "created": row["created"], "modified": row["modified"],
           "organization": {"id": org["id"], "name": org["name"], "title": org["title"]} if org else None,
           "package": {"id": pkg["id"], "name": pkg["name"], "title": pkg["title"]} if pkg else None,
           "can_answer": _can_answer(ctx, row)}
    if out["can_answer"]:
        out["requester_email"] = row["requester_email"]
    return out


def datarequest_create(ctx, data):
    """Ask for a dataset (anyone; anonymous requesters give a name, their e-mail is never shown publicly)."""
    errors = {}
    title = (text_or_none(data.get("title"), "title", errors, 200) or "").strip()
    description = (text_or_none(data.get("description"), "description", errors, 5000) or "").strip()
    name = ctx.user["name"] if ctx.user else (text_or_none(data.get("requester_name"), "requester_name", errors, 100)
                                               or "").strip()
    email = (text_or_none(data.get("requester_email"), "requester_email", errors, 200) or "").strip() or None
    for key, value in (("title", title), ("description", description), ("requester_name", name)):
        if not value:
            errors.setdefault(key, []).append("Missing value")
    if email and ("@" not in email or " " in email):
        errors.setdefault("requester_email", []).append("Email address is not valid")
    org_id = None
    if data.get("organization_id"):
        org = get_group(ctx.db, data["organization_id"], is_org=True)
        if org is None:
            errors.setdefault("organization_id", []).append("Organization does not exist")
        else:
            org_id = org["id"]
    if errors:
        raise ValidationError(errors)
    rid, ts = new_id(), now()
    with transaction(ctx.db):
        participation_store.insert_datarequest(ctx.db, rid, title, description, org_id, ctx.user_id, name, email, ts)
    return _dict(ctx, _row(ctx.db, rid))


def datarequest_show(ctx, data):
    """One data request."""
    return _dict(ctx, _row(ctx.db, get_or_bust(data, "id")))


def datarequest_index(ctx, data):
    """Data requests, newest first, optionally by `status` and `organization_id`: {count, result}."""
    if data.get("status") and data["status"] not in STATUSES:
        raise ValidationError({"status": [f"Must be one of {', '.join(STATUSES)}"]})
    limit = as_int(data, "limit", 20, maximum=100)
    offset = as_int(data, "offset", 0)
    count, rows = participation_store.datarequests(ctx.db, data.get("status"), data.get("organization_id"), limit,
                                                   offset)
    return {"count": count, "result": [_dict(ctx, r) for r in rows]}


def datarequest_answer(ctx, data):
    """The organization answers: `status` answered|published, `answer` text, `package_id` that fulfils it."""
    row = _row(ctx.db, get_or_bust(data, "id"))
    org_id = row["organization_id"]
    if not org_id and data.get("organization_id"):
        # An unassigned request is taken by an organization its editors answer for.
        org = get_group(ctx.db, data["organization_id"], is_org=True)
        org_id = org["id"] if org else None
    if not (ctx.sysadmin or org_id and auth.can_edit_org(ctx, org_id)):
        raise NotAuthorized("only the organization's editors and admins answer its data requests")
    errors = {}
    status = data.get("status") or "answered"
    if status not in STATUSES[1:]:
        errors["status"] = ["Must be answered or published"]
    answer = (text_or_none(data.get("answer"), "answer", errors, 5000) or "").strip()
    if not answer:
        errors.setdefault("answer", []).append("Missing value")
    package_id = None
    if data.get("package_id"):
        pkg = get_package(ctx.db, data["package_id"])
        if pkg is None or not auth.can_read_package(ctx, pkg):
            errors.setdefault("package_id", []).append("Dataset was not found")
        else:
            package_id = pkg["id"]
    if status == "published" and not package_id:
        errors.setdefault("package_id", []).append("A published request links the dataset that fulfils it")
    if errors:
        raise ValidationError(errors)
    with transaction(ctx.db):
        participation_store.answer_datarequest(ctx.db, row["id"], status, answer, package_id, org_id, ctx.user_id, now())
    return _dict(ctx, _row(ctx.db, row["id"]))
