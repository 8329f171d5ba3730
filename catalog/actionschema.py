"""Each action's parameters as JSON Schema, from one declarative file (catalog/actions.schema.json) plus the
GDC dataset fields of validators/gdc-dataset.json. Requests are checked against it at the door, the OpenAPI
description is generated from it, and the strict searches take their list of parameters from it."""
import copy
import functools
import json
from pathlib import Path

from jsonschema import Draft7Validator

from . import gdc

FILE = Path(__file__).with_name("actions.schema.json")
GDC_KINDS = {
    "select": lambda f: {"type": "string", "enum": list(f["choices"])},
    "multi": lambda f: {"type": ["array", "string"], "items": {"type": "string", "enum": list(f["choices"])}},
    "date": lambda f: {"type": "string", "format": "date"},
    "be_year": lambda f: {"type": ["string", "integer"], "pattern": "^2[45][0-9][0-9]$"},
    "number": lambda f: {"type": ["string", "number"]},
}


@functools.lru_cache(maxsize=1)
def document():
    """The declarative file."""
    return json.loads(FILE.read_text(encoding="utf-8"))


def actions():
    """{action: its declaration}."""
    return document()["actions"]


def _resolve(schema):
    """A parameter schema with $refs to the shared definitions inlined."""
    schema = copy.deepcopy(schema)
    ref = schema.pop("$ref", None)
    if ref:
        schema = {**copy.deepcopy(document()["$defs"][ref.rsplit("/", 1)[-1]]), **schema}
    return schema


@functools.lru_cache(maxsize=None)
def properties(action):
    """{parameter: JSON Schema} of one action (GET text forms of numbers and booleans included)."""
    decl = actions()[action]
    shared, own = document()["parameters"], decl.get("overrides", {})
    out = {p: _resolve(own.get(p, shared[p])) for p in decl["params"]}
    if decl.get("gdc"):
        for name, spec in gdc.fields().items():
            kind = GDC_KINDS.get(spec["kind"])
            if kind and name not in out:
                out[name] = {**kind(spec), "description": spec["label"]["en"]}
            elif name not in out and spec["kind"] == "text":
                out[name] = {"type": ["string", "number"], "description": spec["label"]["en"]}
    return out


def parameters(action):
    """The names an action reads."""
    return list(properties(action))


def required(action):
    """The parameters an action cannot do without."""
    return list(actions()[action].get("required", []))


def ignored(action):
    """CKAN parameters the action accepts for compatibility and ignores (documented as such)."""
    return list(actions()[action].get("ignored", []))


def prefixes(action):
    """Prefixes of flattened keys the action reads (package_revise: match__<path>, update__<path>)."""
    return list(actions()[action].get("prefixes", []))


def is_strict(action):
    """Does the action refuse parameters it does not know (the searches, as CKAN's do)?"""
    return bool(actions()[action].get("strict"))


def _nullable(schema):
    # CKAN clients send null for "not given"; that is never a type error.
    schema = dict(schema)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


@functools.lru_cache(maxsize=None)
def _validator(action):
    # Types, lengths and choices only: required parameters and unknown names keep the actions' own
    # CKAN-shaped answers (all missing fields at once; a Search Query Error for unknown search parameters).
    return Draft7Validator({"type": "object",
                            "properties": {k: _nullable(v) for k, v in properties(action).items()}})


def _message(error):
    kind, value = error.validator, error.validator_value
    if kind == "type":
        wanted = [t for t in (value if isinstance(value, list) else [value]) if t != "null"]
        if "string" in wanted and len(wanted) > 1:
            # "string" there is the same value sent as text (GET); name the value's own type.
            others = [t for t in wanted if t != "string"]
            wanted = ["string"] if others == ["number"] else others
        return "Must be " + " or ".join({"string": "a string", "integer": "a whole number", "boolean": "true or false",
                                          "array": "a list", "object": "an object", "number": "a number"}.get(t, t)
                                         for t in wanted)
    if kind == "enum":
        return f"Value must be one of {[v for v in value if v is not None]}"
    if kind == "maxLength":
        return f"Must be at most {value} characters"
    if kind == "minLength":
        return f"Must be at least {value} characters"
    if kind == "pattern":
        return "Must be a whole number" if value == document()["$defs"]["int"]["pattern"] else "Invalid format"
    return error.message


def errors(action, data):
    """{parameter: [message]} where the request's values do not fit the action's declared schema."""
    out = {}
    if action not in actions():
        return out
    for error in _validator(action).iter_errors(data):
        field = error.absolute_path[0] if error.absolute_path else "message"
        out.setdefault(str(field), []).append(_message(error))
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}
