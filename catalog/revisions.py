"""CKAN's package_revise: change a dataset safely while others edit it. The caller asserts what the dataset
holds now (`match`), removes fields by pattern (`filter`), merges new values (`update`), with nested dicts or
flattened keys such as `update__resources__0__name` or `update__resources__1f9ab__description` (a resource by
the first five or more characters of its id), and `update__resources__extend` to append."""
import copy
import json

from .errors import ValidationError
from .packages import package_update, show
from .params import as_list


class KeyMismatch(Exception):
    """A flattened key that names nothing in the dataset, or a value of the wrong kind for its place."""


def _text(path):
    return "__".join(str(p) for p in path)


def differences(current, expected, path=()):
    """Paths where `current` does not hold what `expected` says (dicts and lists compared item by item)."""
    if isinstance(expected, dict):
        if not isinstance(current, dict):
            return [path]
        return [d for k, v in expected.items()
                for d in ([path + (k,)] if k not in current else differences(current[k], v, path + (k,)))]
    if isinstance(expected, list):
        if not isinstance(current, list):
            return [path]
        return [d for i, v in enumerate(expected)
                for d in ([path + (i,)] if i >= len(current) else differences(current[i], v, path + (i,)))]
    return [] if current == expected else [path]


def resolve(data, key):
    """(the value a flattened key names, its path); a list item by index (negative from the end) or by id prefix."""
    current, path = data, []
    for part in key.split("__"):
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
            continue
        if isinstance(current, list):
            index = _index(current, part)
            if index is not None:
                current = current[index]
                path.append(index)
                continue
        raise KeyMismatch(f"Unmatched key {_text(path + [part])}")
    return current, tuple(path)


def _index(items, part):
    if len(part) >= 5:   # an id prefix
        return next((i for i, item in enumerate(items)
                     if isinstance(item, dict) and str(item.get("id", "")).startswith(part)), None)
    try:
        index = int(part)
    except ValueError:
        return None
    return index % len(items) if -len(items) <= index < len(items) else None


def glob_filter(data, patterns):
    """Remove what the patterns name, in place: `-key__sub` removes, `+key` protects (the first pattern that
    names a value wins), `*` is every key or item at its level."""
    _filter(data, [(p.startswith("+"), p.lstrip("+-").split("__")) for p in patterns])


def _filter(data, globs):
    if isinstance(data, dict):
        protected, deeper = {}, {}
        for keep, parts in globs:
            head = parts[0]
            if head == "*":
                if keep:
                    protected.update(data)
                else:
                    data.clear()
            elif head in data:
                if len(parts) > 1:
                    deeper.setdefault(head, []).append((keep, parts[1:]))
                elif keep:
                    protected[head] = data[head]
                else:
                    del data[head]
        data.update(protected)
        for head, sub in deeper.items():
            if head in data:
                _filter(data[head], sub)
    elif isinstance(data, list):
        protected, removed, deeper = set(), set(), {}
        for keep, parts in globs:
            if parts[0] == "*":
                (protected.update if keep else removed.update)(set(range(len(data))) - (removed if keep else protected))
                continue
            index = _index(data, parts[0])
            if index is None:
                continue
            if len(parts) > 1:
                deeper.setdefault(index, []).append((keep, parts[1:]))
            elif keep and index not in removed:
                protected.add(index)
            elif not keep and index not in protected:
                removed.add(index)
        for index, sub in deeper.items():
            if index not in removed - protected:
                _filter(data[index], sub)
        data[:] = [item for i, item in enumerate(data) if i not in removed - protected]


def merge(target, changes, path=()):
    """Merge `changes` into `target` in place: dicts key by key, lists item by item (appending past the end)."""
    if isinstance(target, dict):
        if not isinstance(changes, dict):
            raise KeyMismatch(f"Expected dict for {_text(path)}")
        for k, v in changes.items():
            if k in target and isinstance(target[k], (dict, list)):
                merge(target[k], v, path + (k,))
            else:
                target[k] = v
        return
    if not isinstance(changes, list):
        raise KeyMismatch(f"Expected list for {_text(path)}")
    for i, v in enumerate(changes):
        if i >= len(target):
            target.append(v)
        elif isinstance(target[i], (dict, list)):
            merge(target[i], v, path + (i,))
        else:
            target[i] = v


def merge_key(data, key, value):
    """Apply one flattened `update__…` key (without its prefix) to the dataset dict in place."""
    *parents, last = key.split("__")
    current, path = resolve(data, "__".join(parents)) if parents else (data, ())
    if isinstance(current, dict):
        merge(current, {last: value}, path)
    elif isinstance(current, list):
        if last == "extend":
            if not isinstance(value, list):
                raise KeyMismatch(f"Expected list for {_text(path)}")
            current.extend(value)
            return
        child, child_path = resolve(current, last)
        if isinstance(child, (dict, list)):
            merge(child, value, path + child_path)
        else:
            current[child_path[0]] = value
    else:
        raise KeyMismatch(f"Expected list or dict for {_text(path)}")


def _json_value(value):
    # Form posts send nested values as JSON text.
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _object(data, key):
    value = _json_value(data.get(key))
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError({key: ["Must be an object"]})
    return value


def _flattened(data, prefix):
    return {k[len(prefix):]: _json_value(v) for k, v in data.items() if k.startswith(prefix) and len(k) > len(prefix)}


def package_revise(ctx, data):
    """Change a dataset if it still holds what `match` says: `filter` removes fields, `update` merges new ones;
    returns {"package": the dataset after the change} (only the `include` patterns, when given)."""
    match, update = _object(data, "match") or {}, _object(data, "update")
    match_keys, update_keys = _flattened(data, "match__"), _flattened(data, "update__")
    ref = match_keys.get("id") or match.get("id") or match_keys.get("name") or match.get("name")
    if not ref:
        raise ValidationError({"match__id": ["Missing value"]})
    orig = show(ctx, ref)
    unmatched = differences(orig, match)
    for key, value in sorted(match_keys.items()):
        try:
            current, path = resolve(orig, key)
        except KeyMismatch:
            unmatched.append(tuple(key.split("__")))
            continue
        unmatched += differences(current, value, path)
    if unmatched:
        raise ValidationError({"match": [_text(p) for p in unmatched]})
    revised = copy.deepcopy(orig)
    patterns = as_list(data, "filter", []) or []
    if patterns:
        glob_filter(revised, patterns)
        revised["id"] = orig["id"]
    try:
        if update is not None:
            merge(revised, update)
    except KeyMismatch as exc:
        raise ValidationError({"update": [str(exc)]}) from None
    # Appends first, so a later key may name an item an append just added.
    for key, value in sorted(update_keys.items(), key=lambda kv: (not kv[0].endswith("extend"), kv[0])):
        try:
            merge_key(revised, key, value)
        except KeyMismatch as exc:
            raise ValidationError({f"update__{key}": [str(exc)]}) from None
    result = {"package": package_update(ctx, revised)}
    include = as_list(data, "include", []) or []
    if include:
        glob_filter(result, include)
    return result
