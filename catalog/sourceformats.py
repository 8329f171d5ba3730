"""The source formats declared in validators/sources.json, read by ingest (readers, schemas) and by the
spending build (which table each format feeds, its precedence and granularity)."""
import json

from .gdc import VALIDATORS_DIR

FILE = "sources.json"


def declared(folder=None):
    """{format name: declaration}; OSError or ValueError when the file is missing or is not JSON."""
    with open((folder or VALIDATORS_DIR) / FILE, encoding="utf-8") as f:
        return json.load(f)


def schema_names(folder=None):
    """Names of the Table Schemas declared in validators/ (`--schema` of ingest, the upload form's choices)."""
    return sorted(p.name[: -len(".schema.json")] for p in (folder or VALIDATORS_DIR).glob("*.schema.json"))
