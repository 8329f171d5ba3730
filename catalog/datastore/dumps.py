"""DataStore downloads: a whole table (or what a search selects) as CSV, TSV, JSON, XML or XLSX, streamed.

DuckDB writes them (exports.py); a table with list columns takes the row-by-row writer (tabular)."""
from . import exports, tables, tabular
from .search import ROWS_MAX, plan, quote_ident, resolve, search
from ..errors import NotAuthorized, NotFound, ValidationError
from ..params import as_bool, as_int

DUMP_FORMATS = ("csv", "tsv", "json", "xml", "xlsx")
DUMP_FIRST_PAGE = 1000
DUMP_PARAMS = {"format", "bom", "q", "filters", "fields", "sort", "limit", "offset", "distinct", "version",
               "plain", "language"}


def dump(ctx, resource_id, params):
    """(filename, media type, byte chunks) of a table download: written by DuckDB, or by the row writer 32,000
    rows at a time."""
    unknown = [k for k in params if k not in DUMP_PARAMS]
    if unknown:
        raise ValidationError({k: ["invalid parameter"] for k in unknown})
    fmt = (params.get("format") or "csv").lower()
    if fmt not in DUMP_FORMATS:
        raise ValidationError({"format": [f"must be one of {list(DUMP_FORMATS)}"]})
    try:
        res_row, _ = resolve(ctx, resource_id)
    except NotAuthorized:
        raise NotFound("DataStore resource not found") from None
    limit = as_int(params, "limit", None)
    query = {k: params[k] for k in ("q", "filters", "fields", "sort", "distinct", "version") if params.get(k)}
    bom = as_bool(params, "bom", False)
    if fmt in exports.FORMATS:
        fast = _duckdb_dump(ctx, res_row, query, fmt, bom, limit, as_int(params, "offset", 0))
        if fast is not None:
            return f"{res_row['id']}.{fmt}", tabular.MEDIA[fmt], fast
    # A small first page, so the download starts at once; then full pages.
    first_size = DUMP_FIRST_PAGE if limit is None else min(DUMP_FIRST_PAGE, limit)
    first, wanted, rows = search(ctx, {"resource_id": res_row["id"], **query, "offset": as_int(params, "offset", 0),
                                       "limit": first_size, "include_total": False})

    def batches():
        yield rows
        got, offset, full = len(rows), first["offset"] + len(rows), len(rows) == first_size
        while full and (limit is None or got < limit):
            page = ROWS_MAX if limit is None else min(ROWS_MAX, limit - got)
            _, _, more = search(ctx, {"resource_id": res_row["id"], **query, "offset": offset, "limit": page,
                                      "include_total": False})
            if not more:
                return
            yield more
            got, offset, full = got + len(more), offset + len(more), len(more) == page

    return f"{res_row['id']}.{fmt}", tabular.MEDIA[fmt], tabular.stream(fmt, wanted, batches(), bom=bom)


def _duckdb_dump(ctx, res_row, query, fmt, bom, limit, offset):
    """The byte chunks of a download written by DuckDB (exports.py), or None when a column's type needs
    the row-by-row writer."""
    p = plan(ctx, {"resource_id": res_row["id"], **query})
    types = [tables.duck_type(p.types[w]) for w in p.wanted]
    # XML names each row by its first column, which the row writer takes as _id whatever it is.
    if not exports.supports(types) or (fmt == "xml" and p.wanted[0] != "_id"):
        return None
    if fmt == "xlsx":   # a sheet holds at most this many rows under its header, in Excel and elsewhere
        limit = min(limit, exports.XLSX_MAX_ROWS) if limit is not None else exports.XLSX_MAX_ROWS
    # _id order is the version file's own, and DuckDB keeps a scan's order: the rows stream out as they are
    # read instead of after all of them are sorted.
    keys = [] if p.in_file_order else p.keys
    columns = [quote_ident(w) for w in p.wanted] + [f"{quote_ident(name)} AS _o{i}" for i, (name, _) in enumerate(keys)]
    source = f"SELECT {', '.join(columns)} FROM ({p.inner})"
    return exports.download(ctx.settings, fmt, p.wanted, types, source, p.args, bom, [d for _, d in keys], limit,
                            offset, p.ver["row_count"], not (p.filtered or p.distinct))
