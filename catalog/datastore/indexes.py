"""Declared DataStore indexes (CKAN's datastore_create `indexes`) as clustered copies of a version.

A version file is in `_id` order, so the rows one filter value selects are spread over every row group and a
filter reads the whole file. For each declared index the version keeps a copy ordered by the index's fields (then
`_id`): a filter on its first field reads only the row groups that hold the value. Searches give the same rows
from either file, as every query orders its rows itself."""
import json

from . import tables
from ..errors import ValidationError
from ..params import as_list

MAX_INDEXES = 3   # each keeps a whole copy of the table


def parse(value, fields):
    """The field lists of CKAN's `indexes`: a comma-separated string names one-field indexes; in a list, each item
    (a comma-separated string or a list) is one index, its fields in order. 409 on an unknown field."""
    value = as_list({"indexes": value}, "indexes", [])
    known = {f["id"] for f in fields}   # not _id: the version file is in _id order already
    out = []
    for item in value:
        cols = item if isinstance(item, list) else str(item).split(",")
        cols = [str(c).strip() for c in cols if str(c).strip()]
        unknown = [c for c in cols if c not in known]
        if unknown:
            raise ValidationError({"indexes": [f'field "{unknown[0]}" not in resource']})
        if cols and cols not in out:
            out.append(cols)
    if len(out) > MAX_INDEXES:
        raise ValidationError({"indexes": [f"at most {MAX_INDEXES} indexes: each keeps a copy of the table"]})
    return out


def of_version(ver):
    """A version row's indexes: [{"fields": [...], "parquet_sha256": ...}]."""
    return json.loads(ver["indexes"] or "[]") if ver is not None else []


def kept(ver, fields):
    """The field lists of a version's indexes that still name fields of the next version (which keeps them)."""
    known = {f["id"] for f in fields}
    return [ix["fields"] for ix in of_version(ver) if all(c in known for c in ix["fields"])]


def build(settings, cur, sha256, column_lists):
    """Write the clustered copy of version `sha256` for each index; the list a version row records."""
    return [{"fields": cols, "parquet_sha256": tables.write_clustered(settings, cur, sha256, cols)}
            for cols in column_lists]


def file_for(ver, filters):
    """The sha256 of the file a search with these equality filters reads: the copy of the index whose leading
    fields the filters cover most, or the version's own file."""
    best, best_len = ver["parquet_sha256"], 0
    for ix in of_version(ver):
        n = 0
        while n < len(ix["fields"]) and ix["fields"][n] in filters:
            n += 1
        if n > best_len:
            best, best_len = ix["parquet_sha256"], n
    return best
