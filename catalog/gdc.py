"""Thai GDC dataset metadata: the schema lives in validators/gdc-dataset.json; this applies it."""
import json
import math
import os
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

VALIDATORS_DIR = Path(os.environ.get("KHLANG_VALIDATORS") or Path(__file__).resolve().parent.parent / "validators")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


@lru_cache(maxsize=1)
def schema():
    """The GDC schema document."""
    with open(VALIDATORS_DIR / "gdc-dataset.json", encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def fields():
    """GDC dataset fields by name (the ones stored beside CKAN's core columns)."""
    return {f["field_name"]: f for f in schema()["dataset_fields"]}


def field_names():
    """Names of the GDC fields, in schema order."""
    return list(fields())


def choice_fields():
    """Names of select and multi-select fields (indexed for fq and facets)."""
    return [n for n, f in fields().items() if f["kind"] in ("select", "multi")]


def _as_list(value):
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                parsed = json.loads(s)
            except ValueError:
                return [value]
            if isinstance(parsed, list):
                return parsed
        return [s] if s else []
    return [value]


def clean(data, errors):
    """Validate and normalise the GDC fields present in `data`; add messages to `errors`."""
    out = {}
    for name, spec in fields().items():
        if name not in data:
            continue
        value = data[name]
        if value is None or value == "" or value == []:
            continue
        kind = spec["kind"]
        if kind == "select":
            value = str(value)
            if value not in spec["choices"]:
                errors.setdefault(name, []).append(_choice_msg(spec, value))
                continue
        elif kind == "multi":
            items = [str(v) for v in _as_list(value)]
            bad = [v for v in items if v not in spec["choices"]]
            if bad:
                errors.setdefault(name, []).append(_choice_msg(spec, bad[0]))
                continue
            value = items
        elif kind == "date":
            value = str(value)
            try:
                # The whole value: "2024-01-01<script>" is not a date.
                (date if len(value) <= 10 else datetime).fromisoformat(value)
            except ValueError:
                errors.setdefault(name, []).append("Date format incorrect, expected YYYY-MM-DD")
                continue
        elif kind == "be_year":
            value = str(value).strip()
            if not re.fullmatch(r"2[45]\d\d", value):
                errors.setdefault(name, []).append("Must be a Buddhist Era year such as 2565")
                continue
        elif kind == "number":
            value = str(value).strip()
            try:
                if not math.isfinite(float(value)):
                    raise ValueError(value)
            except ValueError:
                errors.setdefault(name, []).append("Must be a number")
                continue
        elif not isinstance(value, (str, int, float)):
            errors.setdefault(name, []).append("Must be a string")
            continue
        else:
            value = str(value)
        out[name] = value
    return out


def _choice_msg(spec, value):
    return f"Value must be one of {spec['choices']}; not: {value!r}"


def check_required(pkg, errors):
    """Strict mode: every required GDC field (core and extension) must be filled."""
    for name in missing(pkg, "required"):
        errors.setdefault(name, []).append("Missing value")


def missing(pkg, level):
    """Names of `level` ('required' or 'recommended') fields that the package leaves empty."""
    return [name for name in _level_fields(level) if pkg.get(name) in (None, "", [], {})]


@lru_cache(maxsize=2)
def _level_fields(level):
    return tuple(s["field_name"] for s in schema()["core_fields"] + schema()["dataset_fields"] if s.get(level))


def quality(pkg):
    """Metadata-quality score 0–100 from filled required (weight 3) and recommended (1) fields."""
    weights = schema()["quality_weights"]
    total = got = 0
    misses = {level: missing(pkg, level) for level in ("required", "recommended")}
    for level, miss in misses.items():
        total += weights[level] * len(_level_fields(level))
        got += weights[level] * (len(_level_fields(level)) - len(set(miss)))
    if not pkg.get("resources"):
        total += weights["required"]
    else:
        total += weights["required"]
        got += weights["required"]
    score = round(100 * got / total) if total else 100
    return {
        "score": score,
        "missing_required": misses["required"],
        "missing_recommended": misses["recommended"],
    }


def gdc_licenses():
    """The GDC licence register (ids are the display strings, as Thai GDC stores them)."""
    return schema()["gdc_licenses"]


def is_email(value):
    """A loose e-mail shape check, as CKAN's email_validator."""
    return bool(_EMAIL.match(value))
