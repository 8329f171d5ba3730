"""Parameter conversion as CKAN's validators do it (GET sends strings), with 409 field errors."""
import json
import re
import uuid
from datetime import datetime, timezone

from .errors import ValidationError

NAME_RE = re.compile(r"^[a-z0-9_\-]*$")
RESERVED_NAMES = {"new", "edit", "search"}
TAG_RE = re.compile(r"^[\u0e00-\u0e7f\w \-.]*$")


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
