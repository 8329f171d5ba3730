"""Parameter conversion as CKAN's validators do it (GET sends strings), with 409 field errors."""
import json
import re
import uuid
from datetime import datetime, timezone

from .errors import ValidationError

# \Z, not $: "$" also matches before a final newline, and "abc\n" is not a name.
NAME_RE = re.compile(r"^[a-z0-9_\-]*\Z")
RESERVED_NAMES = {"new", "edit", "search"}
TAG_RE = re.compile(r"^[\u0e00-\u0e7f\w \-.]*\Z")
# Characters no text field may hold: C0 controls but tab, newline and carriage return; DEL; and the
# non-characters XML 1.0 cannot carry. (DataStore cells may hold them; outputs escape or drop them.)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Longest text a field may hold; any other string is bounded by TEXT_MAX.
TEXT_LIMITS = {"name": 1000, "title": 1000, "notes": 50000, "description": 50000, "email": 254, "author_email": 254,
               "maintainer_email": 254, "url": 2000, "key": 200, "value": 20000, "fullname": 300, "password": 1000, "old_password": 1000, "about": 10000,
               "q": 2000, "fq": 20000, "text": 10000, "comment": 10000, "answer": 20000}
TEXT_MAX = 100000
# Inputs that are DataStore cells (kept as given; every output escapes them) or uploads.
DOOR_EXEMPT = {"records", "upload"}


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text):
    """Text with the characters XML 1.0 cannot carry removed (for feeds, DCAT, sitemaps, XML and XLSX)."""
    return _XML_ILLEGAL.sub("", text) if isinstance(text, str) else text


SURROGATE = re.compile("[\ud800-\udfff]")


def door_errors(data, write=True):
    """{top-level field: [message]} for text that is not valid Unicode (any request), or that holds control
    characters or is too long (writes), anywhere inside."""
    errors = {}

    def walk(value, top, key):
        if isinstance(value, str):
            lone = SURROGATE.search(value)
            if lone:
                errors.setdefault(top, []).append(f"Must be valid Unicode text (a lone surrogate U+{ord(lone.group()):04X} "
                                                  f"at position {lone.start()})")
            if not write:
                return
            bad = CONTROL.search(value)
            if bad:
                errors.setdefault(top, []).append(
                    f"Must not contain control characters (U+{ord(bad.group()):04X} at position {bad.start()})")
            limit = TEXT_LIMITS.get(key, TEXT_MAX)
            if len(value) > limit:
                errors.setdefault(top, []).append(f"Must be at most {limit:,} characters (got {len(value):,})")
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and (SURROGATE.search(k) or (write and CONTROL.search(k))):
                    errors.setdefault(top, []).append("Keys must be text without control characters")
                walk(v, top, k if isinstance(k, str) else key)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, top, key)

    for k, v in data.items():
        if isinstance(k, str) and SURROGATE.search(k):
            errors.setdefault("message", []).append("Parameter names must be valid Unicode text")
        elif k not in DOOR_EXEMPT or not write:
            walk(v, k, k)
    return {k: list(dict.fromkeys(v)) for k, v in errors.items()}


def now():
    """Naive UTC ISO timestamp with microseconds, CKAN's format."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def new_id():
    """A new UUID4 string."""
    return str(uuid.uuid4())


def get_or_bust(data, key):
    """The value of a required key, or a 409 `{key: ["Missing value"]}`."""
    value = data.get(key)
    if value is None or value == "":
        raise ValidationError({key: ["Missing value"]})
    return value


def as_bool(data, key, default=False):
    """A boolean from a bool or the strings true/false/1/0/yes/no/on/off."""
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return default
    s = str(value).strip().lower()
    if s in ("true", "1", "yes", "on", "t", "y"):
        return True
    if s in ("false", "0", "no", "off", "f", "n"):
        return False
    raise ValidationError({key: ["Value must be one of: true, false"]})


def as_int(data, key, default=None, minimum=0, maximum=None, clamp=True):
    """A natural number; above `maximum` is clamped (CKAN's limit_to_configured_maximum)."""
    value = data.get(key, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValidationError({key: ["Invalid integer"]})
    try:
        n = int(str(value).strip())
    except (ValueError, OverflowError):
        raise ValidationError({key: ["Invalid integer"]}) from None
    if minimum is not None and n < minimum:
        raise ValidationError({key: ["Must be a natural number"]})
    if maximum is not None and n > maximum:
        if not clamp:
            raise ValidationError({key: [f"Must be at most {maximum}"]})
        n = maximum
    if abs(n) >= 2 ** 63:   # SQLite and DuckDB integers are 64-bit
        raise ValidationError({key: ["Integer is too large"]})
    return n


def as_list(data, key, default=None):
    """A list from a list, a JSON list string or a comma-separated string."""
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                parsed = json.loads(s)
            except ValueError:
                raise ValidationError({key: ["Not a valid JSON list"]}) from None
            if not isinstance(parsed, list):
                raise ValidationError({key: ["Not a list"]})
            return parsed
        return [p.strip() for p in s.split(",") if p.strip()]
    raise ValidationError({key: ["Not a list"]})


def as_json_object(data, key, default=None):
    """A dict from a dict or a JSON object string."""
    value = data.get(key, default)
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValidationError({key: ["Not a valid JSON object"]}) from None
        if isinstance(parsed, dict):
            return parsed
    raise ValidationError({key: ["Not a JSON object"]})


def name_errors(value):
    """CKAN's name rules: 2–100 chars of lowercase ascii, digits, '-' and '_'."""
    if not isinstance(value, str):
        return ["Names must be strings"]
    errs = []
    if len(value) < 2:
        errs.append("Must be at least 2 characters long")
    if len(value) > 100:
        errs.append("Name must be a maximum of 100 characters long")
    if not NAME_RE.match(value):
        errs.append("Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_")
    if value in RESERVED_NAMES:
        errs.append("That name cannot be used")
    return errs


def tag_errors(name):
    """CKAN's tag rules, Thai letters allowed."""
    if not isinstance(name, str):
        return [f"Tag {name!r} must be a string"]
    errs = []
    if len(name) < 2:
        errs.append(f'Tag "{name}" length is less than minimum 2')
    if len(name) > 100:
        errs.append(f'Tag "{name}" length is more than maximum 100')
    if not TAG_RE.match(name):
        errs.append(f'Tag "{name}" must be alphanumeric characters or symbols: -_.')
    return errs


def text_or_none(value, key, errors, max_len=None):
    """A string field; numbers are stringified, other types are a field error."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        errors.setdefault(key, []).append("Must be a string")
        return None
    value = str(value)
    if max_len and len(value) > max_len:
        errors.setdefault(key, []).append(f"Must be at most {max_len} characters long")
    return value


SLUG_RULE = "must be 2–100 characters of a–z, 0–9, - or _"


def slug_error(value):
    """None when `value` is a valid CKAN name, else the rule it breaks (in one line, for the command line)."""
    return SLUG_RULE if name_errors(value) else None
