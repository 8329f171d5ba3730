"""CKAN's resource_search: resources whose fields contain the given text (`query`: `field:term` strings), only
in active datasets the caller may read."""
from . import auth
from .errors import ValidationError
from .params import as_int, as_list
from .dicts import resource_dict
from .store import resources as resource_store
from .store.resources import SEARCH_FIELDS as FIELDS
from .store.resources import SEARCH_ORDERS as ORDERS


def resource_search(ctx, data):
    """{count, results} of resources matching every `field:term` of `query` (case-insensitive substring)."""
    terms = as_list(data, "query", []) or []
    if not terms:
        raise ValidationError({"query": ["Missing value"]})
    pairs = []
    for term in terms:
        field, sep, text = str(term).partition(":")
        if not sep or field not in FIELDS or not text:
            raise ValidationError({"query": [f'Each term is "field:text" with a field of {list(FIELDS)}']})
        pairs.append((field, text))
    order = str(data.get("order_by") or "name")
    if order not in ORDERS:
        raise ValidationError({"order_by": [f"Must be one of {list(ORDERS)}"]})
    offset, limit = as_int(data, "offset", 0), as_int(data, "limit", 100, maximum=1000)
    rows = resource_store.search(ctx.db, pairs, order)
    readable = [r for r in rows if auth.can_read_package(ctx, {"id": r["package_id"], "state": r["pkg_state"],
                                                               "private": r["pkg_private"],
                                                               "owner_org": r["pkg_owner_org"],
                                                               "creator_user_id": r["pkg_creator"]})]
    return {"count": len(readable), "results": [resource_dict(r, ctx.site_url) for r in readable[offset:offset + limit]]}
