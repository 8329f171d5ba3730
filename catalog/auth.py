"""Who may do what: sysadmin, organization admin/editor/member, anonymous."""
from .errors import NotAuthorized, NotFound
from .store.harvest import harvested_from
from .store.packages import get_package
from .store.resources import get_resource

EDIT_CAPACITIES = ("admin", "editor")


def capacity(ctx, group_id):
    """The caller's capacity in an organization or group, or None."""
    if not group_id:
        return None
    return ctx.capacities().get(group_id)


def can_edit_org(ctx, org_id):
    """May the caller create and change datasets of this organization?"""
    return ctx.sysadmin or capacity(ctx, org_id) in EDIT_CAPACITIES


def can_admin_group(ctx, group_id):
    """May the caller manage the members of this organization or group?"""
    return ctx.sysadmin or capacity(ctx, group_id) == "admin"


def collaborator(ctx, package_id):
    """The caller's collaborator capacity on a dataset (member or editor), or None."""
    return ctx.collaborations().get(package_id) if ctx.user else None


def can_edit_package(ctx, pkg):
    """May the caller change this dataset: an editor of its organization, or its editor collaborator?"""
    return can_edit_org(ctx, pkg["owner_org"]) or collaborator(ctx, pkg["id"]) == "editor"


def can_read_package(ctx, pkg):
    """Public active datasets for everyone; private ones for org members and collaborators; drafts for editors."""
    if ctx.sysadmin:
        return True
    state = pkg["state"]
    if state == "deleted":
        return can_edit_org(ctx, pkg["owner_org"])
    if state == "draft":
        return bool(ctx.user) and (pkg["creator_user_id"] == ctx.user_id or can_edit_package(ctx, pkg))
    if pkg["private"]:
        return capacity(ctx, pkg["owner_org"]) is not None or collaborator(ctx, pkg["id"]) is not None
    return True


def require_read_package(ctx, pkg):
    """Raise NotAuthorized unless the caller may read the dataset (NotFound for a deleted one, as package_show)."""
    if not can_read_package(ctx, pkg):
        if pkg["state"] == "deleted":
            raise NotFound("Not found")
        raise NotAuthorized(f"User {ctx.user['name'] if ctx.user else 'anonymous'} not authorized to read package {pkg['id']}")


def require_edit_package(ctx, pkg):
    """Raise NotAuthorized unless the caller may change the dataset; a deleted one is not found for changes."""
    if pkg["state"] == "deleted":
        raise NotFound("Not found")
    if not can_edit_package(ctx, pkg):
        raise NotAuthorized(f"User {ctx.user['name'] if ctx.user else 'anonymous'} not authorized to edit package {pkg['id']}")
    source = harvested_from(ctx.db, pkg["id"])
    if source and source != ctx.harvesting:
        raise NotAuthorized(f"Package {pkg['id']} is harvested from \"{source}\"; it changes there. Detach the harvest "
                            "source (harvest_source_update detached=true) to edit it here")


def package_of_resource(ctx, res_row):
    """The package row a resource row belongs to (even a deleted one); NotFound when it is gone."""
    pkg = get_package(ctx.db, res_row["package_id"], include_deleted=True)
    if not pkg:
        raise NotFound("Resource was not found.")
    return pkg


def resource_for(ctx, rid, write=False):
    """(resource row, package row) the caller may read (or, with `write`, edit); NotFound/NotAuthorized otherwise."""
    row = get_resource(ctx.db, rid)
    if not row:
        raise NotFound("Resource was not found.")
    pkg = package_of_resource(ctx, row)
    (require_edit_package if write else require_read_package)(ctx, pkg)
    return row, pkg


def require_user(ctx):
    """Raise NotAuthorized for anonymous callers."""
    if not ctx.user:
        raise NotAuthorized("You must be logged in")


def require_sysadmin(ctx):
    """Raise NotAuthorized unless the caller is a sysadmin."""
    if not ctx.sysadmin:
        raise NotAuthorized("Only system administrators may do this")


def viewer(ctx):
    """Who is asking, as the store's visibility rules need it: user id, sysadmin, member and editor organizations."""
    collaborations = {} if ctx.sysadmin or not ctx.user else ctx.collaborations()
    return {"user_id": ctx.user_id, "sysadmin": ctx.sysadmin, "member_orgs": member_org_ids(ctx),
            "editor_orgs": editor_org_ids(ctx), "collab_read": sorted(collaborations),
            "collab_edit": sorted(p for p, c in collaborations.items() if c == "editor")}


def member_org_ids(ctx):
    """Organizations whose private datasets the caller may read (None means all: sysadmin)."""
    if ctx.sysadmin:
        return None
    return list(ctx.capacities())


def editor_org_ids(ctx):
    """Organizations in which the caller edits (None means all: sysadmin)."""
    if ctx.sysadmin:
        return None
    return [g for g, c in ctx.capacities().items() if c in EDIT_CAPACITIES]
