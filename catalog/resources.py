"""Resources: cleaning, uploads, and the resource_* actions."""
import json
import mimetypes

from . import auth, jobs, resourceviews, storage
from .changes import touch_package
from .dicts import resource_dict
from .store import resources as resource_store
from .store.db import transaction
from .store.packages import get_package
from .store.resources import get_resource
from .errors import NotFound, ValidationError
from .params import get_or_bust, new_id, now, text_or_none

CORE = ("name", "description", "format", "url", "url_type", "hash", "mimetype", "size", "last_modified", "created")
COMPUTED = {"id", "package_id", "position", "state", "metadata_modified", "datastore_active", "cache_url",
            "cache_last_updated", "mimetype_inner", "resource_type", "upload", "clear_upload", "sha256", "tracking_summary"}
_FORMATS = {"csv": "CSV", "xls": "XLS", "xlsx": "XLSX", "json": "JSON", "xml": "XML", "pdf": "PDF", "zip": "ZIP",
            "geojson": "GeoJSON", "shp": "SHP", "txt": "TXT", "html": "HTML", "png": "PNG", "jpg": "JPEG",
            "jpeg": "JPEG", "doc": "DOC", "docx": "DOCX", "parquet": "Parquet", "tsv": "TSV", "ods": "ODS", "rdf": "RDF"}


def clean_format(fmt, url=""):
    """CKAN's unified format: known extensions upper-cased, guessed from the URL when empty."""
    fmt = (fmt or "").strip()
    if not fmt and url:
        ext = url.rsplit("?", 1)[0].rsplit(".", 1)
        fmt = ext[1] if len(ext) == 2 and "/" not in ext[1] else ""
    return _FORMATS.get(fmt.lower().lstrip("."), fmt)


def clean(res, index, errors):
    """Validate one resource dict; returns the column values and extras."""
    errs = {}
    if not isinstance(res, dict):
        errors[index] = {"resource": ["Must be a dict"]}
        return None
    values = {}
    for key in CORE:
        if key in res:
            values[key] = text_or_none(res[key], key, errs)
    if values.get("size") not in (None, ""):
        try:
            values["size"] = int(values["size"])
        except ValueError:
            errs.setdefault("size", []).append("Invalid integer")
    else:
        values["size"] = None
    if values.get("url_type") == "upload" and values.get("url"):
        # A dump from another portal carries that portal's download URL; keep the file name only.
        values["url"] = storage.munge_filename(values["url"].rsplit("/", 1)[-1])
    values["format"] = clean_format(values.get("format"), values.get("url") or "")
    extras = {}
    for key, value in res.items():
        if key in CORE or key in COMPUTED:
            continue
        if not isinstance(key, str) or key.startswith("_"):
            errs.setdefault(key, []).append("Invalid field name")
            continue
        extras[key] = value
    if errs:
        errors[index] = errs
    return values, extras


def insert(ctx, package_id, position, values, extras, rid=None, upload=None):
    """Insert a resource row; with an upload, store the file first."""
    rid = rid or new_id()
    ts = now()
    values = dict(values)
    sha = None
    if upload is not None:
        sha, size, name = _store_upload(ctx, upload)
        values.update(url=name, url_type="upload", size=size, last_modified=ts)
        values["mimetype"] = values.get("mimetype") or mimetypes.guess_type(name)[0]
        values["format"] = values.get("format") or clean_format("", name)
        values["hash"] = values.get("hash") or sha
        values["name"] = values.get("name") or name
    resource_store.insert(ctx.db, rid, package_id, position, values, sha, ts, extras)
    if (values.get("format") or "").upper() in resourceviews.IMAGE_FORMATS:
        resourceviews.add_default(ctx.db, rid, "image_view")
    return rid


def update(ctx, row, values, extras, upload=None, position=None, replace=True):
    """Update a resource row in place; `replace=False` merges (patch)."""
    ts = now()
    current = dict(row)
    merged_extras = {} if replace else json.loads(row["extras"])
    merged_extras.update(extras)
    new = {k: current[k] for k in CORE} if not replace else {k: None for k in CORE}
    new["created"] = current["created"]
    new.update({k: v for k, v in values.items() if k != "created" or v})
    sha = current["sha256"]
    if upload is not None:
        sha, size, name = _store_upload(ctx, upload)
        new.update(url=name, url_type="upload", size=size, last_modified=ts, hash=sha)
        new["mimetype"] = mimetypes.guess_type(name)[0]
        new["format"] = values.get("format") or clean_format("", name)
    elif not (new.get("url_type") == "upload" and new.get("url") == current["url"]):
        sha = None  # the resource no longer points at the stored file
    resource_store.update(ctx.db, row["id"], new, sha, ts, merged_extras, position)


def _store_upload(ctx, upload):
    filename = storage.munge_filename(getattr(upload, "filename", None) or getattr(upload, "name", None) or "upload")
    max_bytes = ctx.settings.max_upload_mb * 1024 * 1024
    try:
        if isinstance(upload, storage.Staged):   # copied before the transaction (a command's load)
            if upload.size > max_bytes:
                raise ValueError(f"file is larger than {max_bytes} bytes")
            sha, size = storage.keep(ctx.settings, ctx.db, upload)
        else:
            sha, size = storage.store(ctx.settings, ctx.db, upload, max_bytes=max_bytes)
    except ValueError as exc:
        raise ValidationError({"upload": [str(exc)]}) from None
    return sha, size, filename


def resource_show(ctx, data):
    """One resource as it appears inside package_show."""
    row, _ = auth.resource_for(ctx, get_or_bust(data, "id"))
    return resource_dict(row, ctx.site_url)


def resource_create(ctx, data):
    """Append a resource to a dataset; a multipart `upload` is stored by sha256."""
    pkg = get_package(ctx.db, get_or_bust(data, "package_id"))
    if not pkg:
        raise NotFound("Package was not found.")
    auth.require_edit_package(ctx, pkg)
    errors = {}
    cleaned = clean({k: v for k, v in data.items() if k not in ("package_id", "khlang_autoload")}, 0, errors)
    if errors:
        raise ValidationError(errors[0])
    values, extras = cleaned
    upload = _upload_of(data)
    rid = data.get("id") if ctx.sysadmin and data.get("id") else None
    if rid and resource_store.exists(ctx.db, rid):
        raise ValidationError({"id": ["Resource id already exists"]})
    with transaction(ctx.db):
        pos = resource_store.next_position(ctx.db, pkg["id"])
        rid = insert(ctx, pkg["id"], pos, values, extras, rid=rid, upload=upload)
        _maybe_queue(ctx, rid, upload, data)
        touch_package(ctx, pkg["id"], "changed package")
    return resource_dict(get_resource(ctx.db, rid), ctx.site_url)


def _maybe_queue(ctx, rid, upload, data):
    if upload is None:
        return
    row = get_resource(ctx.db, rid)
    if row["sha256"] and jobs.wants_load({"format": row["format"]}, data):
        jobs.queue_load(ctx, rid, row["sha256"])


def _upload_of(data):
    upload = data.get("upload")
    if upload is None or isinstance(upload, str):
        return None
    return upload


def _change(ctx, data, replace):
    rid = get_or_bust(data, "id")
    row, pkg = auth.resource_for(ctx, rid, write=True)
    errors = {}
    cleaned = clean({k: v for k, v in data.items() if k not in ("id", "package_id", "khlang_autoload")}, 0, errors)
    if errors:
        raise ValidationError(errors[0])
    values, extras = cleaned
    if not replace:
        values = {k: v for k, v in values.items() if k in data or (k == "format" and "format" in data)}
    with transaction(ctx.db):
        update(ctx, row, values, extras, upload=_upload_of(data), replace=replace)
        _maybe_queue(ctx, rid, _upload_of(data), data)
        touch_package(ctx, pkg["id"], "changed package")
    return resource_dict(get_resource(ctx.db, rid), ctx.site_url)


def resource_update(ctx, data):
    """Replace a resource's fields (and file, with `upload`)."""
    return _change(ctx, data, replace=True)


def resource_patch(ctx, data):
    """Change only the given fields of a resource (and file, with `upload`)."""
    return _change(ctx, data, replace=False)


def resource_delete(ctx, data):
    """Soft-delete a resource."""
    row, pkg = auth.resource_for(ctx, get_or_bust(data, "id"), write=True)
    with transaction(ctx.db):
        resource_store.mark_deleted(ctx.db, [row["id"]], now())
        touch_package(ctx, pkg["id"], "changed package")
    return None


def download(ctx, package_id, resource_id):
    """(path, filename, mimetype) of an uploaded file the caller may read; NotFound otherwise."""
    row = get_resource(ctx.db, resource_id)
    if not row or row["package_id"] != package_id and auth.package_of_resource(ctx, row)["name"] != package_id:
        raise NotFound("Resource was not found.")
    pkg = auth.package_of_resource(ctx, row)
    if not auth.can_read_package(ctx, pkg):
        raise NotFound("Resource was not found.")  # never confirm a private resource exists
    if row["url_type"] != "upload" or not row["sha256"]:
        raise NotFound("Resource has no uploaded file.")
    path = storage.path_for(ctx.settings, row["sha256"])
    if not path.exists():
        raise NotFound("File is missing from storage.")
    name = (row["url"] or "file").rsplit("/", 1)[-1]
    return path, name, row["mimetype"] or mimetypes.guess_type(name)[0] or "application/octet-stream"
