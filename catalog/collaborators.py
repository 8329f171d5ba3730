"""Dataset collaborators (CKAN 2.9+): an organization's admins let a user outside it read (member) or also edit
(editor) one dataset, private or draft ones included. Collaborators cannot move a dataset to another
organization."""
from . import auth
from .errors import NotAuthorized, NotFound, ValidationError
from .params import get_or_bust, now
from .store import collaborators as collab_store
from .store.db import transaction
from .store.packages import get_package
from .store.users import get_user

CAPACITIES = ("member", "editor")


def _dataset_for_admin(ctx, data):
    pkg = get_package(ctx.db, get_or_bust(data, "id"))
    if pkg is None:
        raise NotFound("Dataset not found")
    if not (ctx.sysadmin or auth.capacity(ctx, pkg["owner_org"]) == "admin"):
        raise NotAuthorized("Only the organization's admins manage a dataset's collaborators")
    return pkg


def _dict(row):
    return {"package_id": row["package_id"], "user_id": row["user_id"], "capacity": row["capacity"],
            "modified": row["modified"]}


def package_collaborator_create(ctx, data):
    """Make a user a collaborator on a dataset, or change their capacity (member or editor)."""
    pkg = _dataset_for_admin(ctx, data)
    user = get_user(ctx.db, get_or_bust(data, "user_id"))
    if user is None:
        raise NotFound("User not found")
    capacity = get_or_bust(data, "capacity")
    if capacity not in CAPACITIES:
        raise ValidationError({"capacity": [f"Role must be one of {list(CAPACITIES)}"]})
    with transaction(ctx.db):
        collab_store.put(ctx.db, pkg["id"], user["id"], capacity, now())
    ctx.forget_capacities()
    return _dict(collab_store.get(ctx.db, pkg["id"], user["id"]))


def package_collaborator_delete(ctx, data):
    """Remove a collaborator from a dataset."""
    pkg = _dataset_for_admin(ctx, data)
    user = get_user(ctx.db, get_or_bust(data, "user_id"))
    if user is None or collab_store.get(ctx.db, pkg["id"], user["id"]) is None:
        raise NotFound("User is not a collaborator on this dataset")
    with transaction(ctx.db):
        collab_store.delete(ctx.db, pkg["id"], user["id"])
    ctx.forget_capacities()
    return None


def package_collaborator_list(ctx, data):
    """A dataset's collaborators (its organization's admins and sysadmins), optionally of one `capacity`."""
    pkg = _dataset_for_admin(ctx, data)
    capacity = data.get("capacity")
    if capacity is not None and capacity not in CAPACITIES:
        raise ValidationError({"capacity": [f"Role must be one of {list(CAPACITIES)}"]})
    return [_dict(r) for r in collab_store.of_package(ctx.db, pkg["id"], capacity)]


def package_collaborator_list_for_user(ctx, data):
    """The datasets a user collaborates on (yourself, or anyone for sysadmins): [{package_id, capacity, modified}]."""
    auth.require_user(ctx)
    user = get_user(ctx.db, get_or_bust(data, "id"))
    if user is None:
        raise NotFound("User not found")
    if user["id"] != ctx.user_id and not ctx.sysadmin:
        raise NotAuthorized("You may only list your own collaborations")
    capacity = data.get("capacity")
    return [{"package_id": pid, "capacity": cap} for pid, cap in sorted(collab_store.of_user(ctx.db, user["id"]).items())
            if capacity in (None, cap)]
