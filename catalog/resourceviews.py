"""Resource views (CKAN's resource_view_* actions): a table, an image, a web page or a chart of a resource, shown
in order on its page. Each view type takes its own settings, returned at the top level as CKAN does."""
import json
from urllib.parse import urlparse

from . import auth
from .errors import NotFound, ValidationError
from .params import get_or_bust, new_id
from .store import resourceviews as view_store
from .store.datastore import live_version
from .store.db import transaction

CHART_TYPES = ("bar", "line", "pie")
# The settings each view type takes (CKAN's plugin schemas); anything else given is ignored, as there.
VIEW_TYPES = {
    "datatables_view": ("filterable", "responsive", "show_fields"),
    "image_view": ("image_url",),
    "webpage_view": ("page_url",),
    "chart_view": ("chart_type", "x_field", "y_field"),
}
DEFAULT_TITLES = {"datatables_view": "Table", "image_view": "Image", "webpage_view": "Web page", "chart_view": "Chart"}
IMAGE_FORMATS = {"PNG", "JPEG", "JPG", "GIF", "WEBP"}   # an image_view is made for these when the resource is


def view_dict(view, resource_row):
    """A view as CKAN answers it: its settings beside id, resource_id, package_id, title, position."""
    return {"id": view["id"], "resource_id": view["resource_id"], "package_id": resource_row["package_id"],
            "view_type": view["view_type"], "title": view["title"], "description": view["description"],
            "position": view["position"], **view["config"]}


def _web_url(value, field, errors):
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors[field] = ["Please provide a valid URL starting with http:// or https://"]


def _clean(ctx, data, view_type, resource_row):
    """(title, description, config) of a view, or ValidationError naming each wrong field."""
    errors, config = {}, {}
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = ["Missing value"]
    description = data.get("description") or ""
    if not isinstance(description, str):
        errors["description"] = ["Must be a string"]
    for key in VIEW_TYPES[view_type]:
        value = data.get(key)
        if value not in (None, ""):
            config[key] = value
    if view_type == "image_view":
        config.setdefault("image_url", "")
        if config["image_url"]:   # empty: the resource's own URL, as in CKAN
            _web_url(str(config["image_url"]), "image_url", errors)
    elif view_type == "webpage_view":
        _web_url(str(config.get("page_url") or ""), "page_url", errors)
    elif view_type == "chart_view":
        _clean_chart(ctx, config, resource_row, errors)
    if errors:
        raise ValidationError(errors)
    return title.strip(), description, config


def _clean_chart(ctx, config, resource_row, errors):
    config.setdefault("chart_type", "bar")
    if config["chart_type"] not in CHART_TYPES:
        errors["chart_type"] = [f"Must be one of {list(CHART_TYPES)}"]
    live = live_version(ctx.db, resource_row["id"])
    if live is None:
        errors["view_type"] = ["A chart needs the resource's data in the DataStore"]
        return
    names = {f["id"] for f in json.loads(live["fields"])}
    if config.get("x_field") not in names:
        errors["x_field"] = ["Must be a column of the resource's table" if config.get("x_field") else "Missing value"]
    if config.get("y_field") not in (None, "") and config["y_field"] not in names:
        errors["y_field"] = ["Must be a column of the resource's table"]


def _view_or_404(ctx, data, write):
    view = view_store.get(ctx.db, get_or_bust(data, "id"))
    if view is None:
        raise NotFound("Resource view not found")
    row, _ = auth.resource_for(ctx, view["resource_id"], write=write)
    return view, row


def resource_view_create(ctx, data):
    """Add a view to a resource (editors of its dataset); it goes after the resource's other views."""
    row, _ = auth.resource_for(ctx, get_or_bust(data, "resource_id"), write=True)
    view_type = get_or_bust(data, "view_type")
    if view_type not in VIEW_TYPES:
        raise ValidationError({"view_type": [f"No plugin found for view_type {view_type}"]})
    title, description, config = _clean(ctx, data, view_type, row)
    view = {"id": new_id(), "resource_id": row["id"], "view_type": view_type, "title": title,
            "description": description, "config": config}
    with transaction(ctx.db):
        view["position"] = view_store.insert(ctx.db, view)
    return view_dict(view, row)


def resource_view_update(ctx, data):
    """Replace a view's title, description and settings (its type stays)."""
    view, row = _view_or_404(ctx, data, write=True)
    title, description, config = _clean(ctx, data, view["view_type"], row)
    view.update(title=title, description=description, config=config)
    with transaction(ctx.db):
        view_store.update(ctx.db, view)
    return view_dict(view, row)


def resource_view_show(ctx, data):
    """One view of a resource the caller may read."""
    view, row = _view_or_404(ctx, data, write=False)
    return view_dict(view, row)


def resource_view_list(ctx, data):
    """A resource's views, in their order."""
    row, _ = auth.resource_for(ctx, get_or_bust(data, "id"))
    return [view_dict(v, row) for v in view_store.of_resource(ctx.db, row["id"])]


def resource_view_delete(ctx, data):
    """Remove a view (editors of its dataset)."""
    view, _ = _view_or_404(ctx, data, write=True)
    with transaction(ctx.db):
        view_store.delete(ctx.db, view["id"])
    return None


def resource_view_reorder(ctx, data):
    """Put a resource's views in the given order; views not named keep their order after them."""
    row, _ = auth.resource_for(ctx, get_or_bust(data, "id"), write=True)
    order = get_or_bust(data, "order")
    if not isinstance(order, list):
        raise ValidationError({"order": ["Must be a list of view ids"]})
    existing = [v["id"] for v in view_store.of_resource(ctx.db, row["id"])]
    named = []
    for view_id in order:
        if view_id not in existing or view_id in named:
            raise ValidationError({"order": [f"View {view_id} does not exist"]})
        named.append(view_id)
    new_order = named + [v for v in existing if v not in named]
    with transaction(ctx.db):
        view_store.reorder(ctx.db, new_order)
    return {"id": row["id"], "order": new_order}


def add_default(db, resource_id, view_type):
    """Give a resource the default view of this type unless it has one (caller's transaction): a table once its
    data is in the DataStore, an image for an image file, as CKAN's default views do."""
    if not view_store.has_type(db, resource_id, view_type):
        view_store.insert(db, {"id": new_id(), "resource_id": resource_id, "view_type": view_type,
                               "title": DEFAULT_TITLES[view_type], "description": "",
                               "config": {"image_url": ""} if view_type == "image_view" else {}})
