"""The CKAN Action API as plain functions: name -> function, and which are safe on GET."""
import inspect
import re

from . import (accounts, actionschema, activity, collaborators, comments, datarequests, following, groups,
               harvestsources, jobs, licenses, memberships, packages, purges, resources, resourcesearch, resourceviews,
               revisions, search, users, vocabularies)
from .datastore import loads as datastore_loads, search as datastore, usersql as datastore_sql
from .dicts import tag_dict
from .store import packages as package_store
from .store import sitemeta
from .store.groups import get_group
from .errors import NotAuthorized, NotFound, ValidationError
from .params import as_bool, as_int, door_errors, get_or_bust

CKAN_VERSION = "2.10.4"


def status_show(ctx, data):
    """Site name, URL, locale, extensions and the CKAN version this API follows."""
    return {
        "site_title": ctx.settings.site_title, "site_description": ctx.settings.site_description,
        "site_url": ctx.site_url, "error_emails_to": None, "locale_default": ctx.settings.locale_default,
        "extensions": ["khlang", "thai_gdc", "datastore", "activity"], "ckan_version": CKAN_VERSION,
        "khlang_gdc_strict": ctx.settings.gdc_strict, "khlang_synthetic_demo": sitemeta.is_demo(ctx.db),
    }


def site_read(ctx, data):
    """Always true (kept for CKAN 2.9-era clients)."""
    return True


def license_list(ctx, data):
    """The licence register: CKAN's default ids and the Thai GDC licences."""
    return licenses.register()


def tag_list(ctx, data):
    """Free tags of public datasets, optionally filtered by `query`/`q`; with `vocabulary_id`, that vocabulary's."""
    query = data.get("query") or data.get("q")
    if data.get("vocabulary_id"):
        vid, names = vocabularies.vocabulary_tags(ctx, str(data["vocabulary_id"]), query)
        return [tag_dict(n, vid) for n in names] if as_bool(data, "all_fields", False) else names
    limit = as_int(data, "limit", None)
    names = package_store.public_tag_names(ctx.db, query, limit, as_int(data, "offset", 0) if limit is not None else 0)
    if as_bool(data, "all_fields", False):
        return [tag_dict(n) for n in names]
    return names


def group_package_show(ctx, data):
    """Public datasets of a group, newest first (frictionless reads catalogues this way)."""
    row = get_group(ctx.db, get_or_bust(data, "id"))
    if not row:
        raise NotFound("Group not found")
    limit = as_int(data, "limit", 1000, maximum=1000)
    field = "organization" if row["is_organization"] else "groups"
    return search.package_search(ctx, {"fq": f'{field}:"{row["name"]}"', "rows": limit,
                                        "sort": "metadata_modified desc"})["results"]


def help_show(ctx, data):
    """The documentation of an action."""
    name = get_or_bust(data, "name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound("Action function not found")
    return inspect.getdoc(fn)


def package_autocomplete(ctx, data):
    """Up to `limit` datasets whose title or name contains `q`: [{name, title, match_field, match_displayed}]."""
    q = get_or_bust(data, "q")
    # What a person types is text, not query syntax: every Lucene operator character is escaped.
    text = re.sub(r'([\\+\-!():^\[\]"{}~*?|&/])', r"\\\1", str(q))
    result = search.package_search(ctx, {"q": text, "rows": as_int(data, "limit", 10, maximum=100)})
    return [{"name": p["name"], "title": p["title"], "match_field": "title", "match_displayed": p["title"]}
            for p in result["results"]]


# Read actions: side-effect-free, so they also answer GET (CKAN marks every get.py action this way).
READS = {
    "package_search": search.package_search,
    "package_show": packages.package_show,
    "package_list": packages.package_list,
    "current_package_list_with_resources": packages.current_package_list_with_resources,
    "package_activity_list": activity.package_activity_list,
    "package_autocomplete": package_autocomplete,
    "activity_show": activity.activity_show,
    "organization_list": groups.organization_list,
    "organization_show": groups.organization_show,
    "organization_list_for_user": groups.organization_list_for_user,
    "group_list": groups.group_list,
    "group_show": groups.group_show,
    "group_package_show": group_package_show,
    "tag_list": tag_list,
    "license_list": license_list,
    "resource_show": resources.resource_show,
    "resource_view_list": resourceviews.resource_view_list,
    "resource_view_show": resourceviews.resource_view_show,
    "status_show": status_show,
    "site_read": site_read,
    "help_show": help_show,
    "user_show": users.user_show,
    "user_list": users.user_list,
    "api_token_list": users.api_token_list,
    "datastore_search": datastore.datastore_search,
    "datastore_search_sql": datastore_sql.datastore_search_sql,
    "datastore_info": datastore.datastore_info,
    "datastore_version_list": datastore.datastore_version_list,
    "xloader_status": jobs.xloader_status,
    "datarequest_show": datarequests.datarequest_show,
    "datarequest_index": datarequests.datarequest_index,
    "comment_list": comments.comment_list,
    "harvest_source_show": harvestsources.harvest_source_show,
    "harvest_source_list": harvestsources.harvest_source_list,
    "harvest_job_list": harvestsources.harvest_job_list,
    "member_list": memberships.member_list,
    "recently_changed_packages_activity_list": activity.recently_changed_packages_activity_list,
    "resource_search": resourcesearch.resource_search,
    "group_list_authz": memberships.group_list_authz,
    "am_following_dataset": following.am_following_dataset,
    "dataset_follower_count": following.dataset_follower_count,
    "dataset_follower_list": following.dataset_follower_list,
    "am_following_group": following.am_following_group,
    "group_follower_count": following.group_follower_count,
    "group_follower_list": following.group_follower_list,
    "am_following_user": following.am_following_user,
    "user_follower_count": following.user_follower_count,
    "user_follower_list": following.user_follower_list,
    "followee_list": following.followee_list,
    "dashboard_activity_list": following.dashboard_activity_list,
    "vocabulary_list": vocabularies.vocabulary_list,
    "vocabulary_show": vocabularies.vocabulary_show,
    "tag_show": vocabularies.tag_show,
    "package_collaborator_list": collaborators.package_collaborator_list,
    "package_collaborator_list_for_user": collaborators.package_collaborator_list_for_user,
}

# Write actions: POST only; anonymous callers are refused unless the action schema allows them.
WRITES = {
    "resource_view_create": resourceviews.resource_view_create,
    "resource_view_update": resourceviews.resource_view_update,
    "resource_view_delete": resourceviews.resource_view_delete,
    "resource_view_reorder": resourceviews.resource_view_reorder,
    "xloader_submit": jobs.xloader_submit,
    "package_create": packages.package_create,
    "package_update": packages.package_update,
    "package_patch": packages.package_patch,
    "package_revise": revisions.package_revise,
    "package_delete": packages.package_delete,
    "resource_create": resources.resource_create,
    "resource_update": resources.resource_update,
    "resource_patch": resources.resource_patch,
    "resource_delete": resources.resource_delete,
    "organization_create": groups.organization_create,
    "organization_update": groups.organization_update,
    "organization_patch": groups.organization_patch,
    "organization_delete": groups.organization_delete,
    "organization_member_create": groups.organization_member_create,
    "organization_member_delete": groups.organization_member_delete,
    "group_create": groups.group_create,
    "group_update": groups.group_update,
    "group_patch": groups.group_patch,
    "group_delete": groups.group_delete,
    "member_create": groups.member_create,
    "member_delete": groups.member_delete,
    "user_create": users.user_create,
    "api_token_create": users.api_token_create,
    "api_token_revoke": users.api_token_revoke,
    "datastore_create": datastore_loads.datastore_create,
    "datastore_upsert": datastore_loads.datastore_upsert,
    "datastore_delete": datastore_loads.datastore_delete,
    "datarequest_create": datarequests.datarequest_create,
    "datarequest_answer": datarequests.datarequest_answer,
    "comment_create": comments.comment_create,
    "comment_moderate": comments.comment_moderate,
    "harvest_source_create": harvestsources.harvest_source_create,
    "harvest_source_update": harvestsources.harvest_source_update,
    "harvest_source_delete": harvestsources.harvest_source_delete,
    "harvest_run": harvestsources.harvest_run,
    "user_update": accounts.user_update,
    "user_delete": accounts.user_delete,
    "dataset_purge": purges.dataset_purge,
    "group_purge": purges.group_purge,
    "organization_purge": purges.organization_purge,
    "bulk_update_private": memberships.bulk_update_private,
    "bulk_update_public": memberships.bulk_update_public,
    "bulk_update_delete": memberships.bulk_update_delete,
    "follow_dataset": following.follow_dataset,
    "unfollow_dataset": following.unfollow_dataset,
    "follow_group": following.follow_group,
    "unfollow_group": following.unfollow_group,
    "follow_user": following.follow_user,
    "unfollow_user": following.unfollow_user,
    "vocabulary_create": vocabularies.vocabulary_create,
    "vocabulary_update": vocabularies.vocabulary_update,
    "vocabulary_delete": vocabularies.vocabulary_delete,
    "package_collaborator_create": collaborators.package_collaborator_create,
    "package_collaborator_delete": collaborators.package_collaborator_delete,
}

ACTIONS = {**READS, **WRITES}
SIDE_EFFECT_FREE = frozenset(READS)


def call(ctx, name, data):
    """Run an action by name (KeyError for unknown names)."""
    fn = ACTIONS[name]
    if not isinstance(data, dict):
        raise ValidationError({"message": "Request data must be a JSON object"})
    if name not in SIDE_EFFECT_FREE and ctx.user is None and not actionschema.actions()[name].get("anonymous_write"):
        # Who is calling comes first: an anonymous write is refused before anything is looked up.
        raise NotAuthorized(f"Action {name} requires an authenticated user")
    # Values of the wrong type or shape are refused at the door, as the action's declared schema says.
    errors = actionschema.errors(name, data)
    # Text is clean at the door: valid Unicode everywhere; for writes, no control character and no unbounded
    # string is ever stored.
    door = door_errors(data, write=name not in SIDE_EFFECT_FREE)
    errors = {k: door.get(k, []) + errors.get(k, []) for k in {**door, **errors}}
    if errors:
        raise ValidationError(errors)
    return fn(ctx, data)
