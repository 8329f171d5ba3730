"""Finding Table Schemas, checklists and source formats declared in validators/."""
import json
import os
from pathlib import Path

from frictionless import FrictionlessException, Schema

from catalog import sourceformats

from . import checks  # noqa: F401  (registers the khlang/* checks with frictionless)


class CannotStart(Exception):
    """A schema, checklist or source format that cannot be used (bad name, bad JSON, bad schema)."""


def validators_dir():
    """The folder of declarative validators (KHLANG_VALIDATORS overrides the one in the repository)."""
    env = os.environ.get("KHLANG_VALIDATORS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "validators"


def _load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise CannotStart(f"{what} not found: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CannotStart(f"{what} {path} is not valid JSON: {exc}") from None


def schema_names():
    """Names usable with --schema."""
    return sourceformats.schema_names(validators_dir())


def sources():
    """Source formats (name → declaration) from validators/sources.json."""
    try:
        return sourceformats.declared(validators_dir())
    except FileNotFoundError:
        raise CannotStart(f"source formats not found: {validators_dir() / sourceformats.FILE}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CannotStart(f"source formats {validators_dir() / sourceformats.FILE} is not valid JSON: {exc}") from None


def source(name):
    """One source format's declaration, or CannotStart listing the known ones."""
    table = sources()
    if name not in table:
        raise CannotStart(f'unknown source format "{name}"; use one of: {", ".join(table)}')
    return {"name": name, **table[name]}


def source_for_schema(schema_name):
    """The source format a named schema comes with (e.g. egp-contract → egp-csv), if any."""
    for name, decl in sources().items():
        if decl.get("schema") == schema_name:
            return {"name": name, **decl}
    return None


def resolve(name_or_path):
    """(schema name or None, frictionless Schema, checklist dict) for a --schema argument."""
    if not name_or_path:
        raise CannotStart("no schema given")
    path = Path(name_or_path)
    if path.suffix == ".json" or os.sep in str(name_or_path):
        name, descriptor, checklist = None, _load_json(path, "schema"), {}
        sibling = path.with_name(path.name.replace(".schema.json", ".checklist.json"))
        if sibling != path and sibling.exists():
            checklist = _load_json(sibling, "checklist")
    else:
        if name_or_path not in schema_names():
            raise CannotStart(f'unknown schema "{name_or_path}"; use a path or one of: {", ".join(schema_names())}')
        name = name_or_path
        descriptor = _load_json(validators_dir() / f"{name}.schema.json", "schema")
        cl = validators_dir() / f"{name}.checklist.json"
        checklist = _load_json(cl, "checklist") if cl.exists() else {}
    return name, parse_schema(descriptor), checklist


def parse_schema(descriptor):
    """A frictionless Schema from a descriptor, or CannotStart saying what is wrong with it."""
    if not isinstance(descriptor, dict):
        raise CannotStart("a Table Schema must be a JSON object")
    try:
        schema = Schema.from_descriptor(descriptor)
    except FrictionlessException as exc:
        raise CannotStart(f"the schema does not parse: {exc.error.message}") from None
    problems = [e.message for e in schema.metadata_errors] if hasattr(schema, "metadata_errors") else []
    if problems:
        raise CannotStart("the schema does not parse: " + "; ".join(problems[:3]))
    return schema


def ckan_type(field_type):
    """CKAN DataStore type for a Table Schema field type."""
    return {"integer": "int", "number": "numeric", "boolean": "bool", "date": "date", "year": "int",
            "datetime": "text", "object": "json", "array": "json"}.get(field_type, "text")
