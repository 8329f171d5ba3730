"""CKAN's resource_search: resources whose fields contain the given text (`query`: `field:term` strings), only
in active datasets the caller may read."""
from . import auth
from .errors import ValidationError
from .params import as_int, as_list
from .resources import resource_dict

FIELDS = ("name", "description", "format", "url")   # the columns a `field:term` may name
ORDERS = {"name": "r.name", "format": "r.format", "created": "r.created", "id": "r.id"}


def resource_search(ctx, data):
    """{count, results} of resources matching every `field:term` of `query` (case-insensitive substring)."""
    terms = as_list(data, "query", []) or []
    if not terms:
        raise ValidationError({"query": ["Missing value"]})
    where, args = ["r.state = 'active'", "p.state <> 'deleted'"], []
    for term in terms:
        field, sep, text = str(term).partition(":")
        if not sep or field not in FIELDS or not text:
            raise ValidationError({"query": [f'Each term is "field:text" with a field of {list(FIELDS)}']})
        where.append(f"lower(coalesce(r.{field}, '')) LIKE ? ESCAPE '\\'")
        args.append("%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    order = ORDERS.get(str(data.get("order_by") or "name"))
    if order is None:
        raise ValidationError({"order_by": [f"Must be one of {list(ORDERS)}"]})
    offset, limit = as_int(data, "offset", 0), as_int(data, "limit", 100, maximum=1000)
    rows = ctx.db.execute(f"SELECT r.*, p.state AS pkg_state, p.private AS pkg_private, p.owner_org AS pkg_owner_org, "
                          f"p.creator_user_id AS pkg_creator FROM resources r JOIN packages p ON p.id = r.package_id "
                          f"WHERE {' AND '.join(where)} ORDER BY {order}, r.id", args).fetchall()
    readable = [r for r in rows if auth.can_read_package(ctx, {"state": r["pkg_state"], "private": r["pkg_private"],
                                                               "owner_org": r["pkg_owner_org"],
                                                               "creator_user_id": r["pkg_creator"]})]
    return {"count": len(readable), "results": [resource_dict(r, ctx.site_url) for r in readable[offset:offset + limit]]}
