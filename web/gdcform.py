"""The GDC dataset form: fields from validators/gdc-dataset.json, and a submitted form as an action dict."""
import re
import uuid

from catalog import gdc



def fields(lang):
    """Form field specs in schema order: name, label, kind, choices, required, recommended."""
    out = []
    for f in gdc.schema()["core_fields"] + gdc.schema()["dataset_fields"]:
        out.append({"name": f["field_name"], "label": f["label"].get(lang) or f["label"]["en"], "kind": f["kind"],
                    "choices": f.get("choices", []), "required": bool(f.get("required")),
                    "recommended": bool(f.get("recommended"))})
    return out


def slug(title):
    """A URL name from a title: ASCII words kept, otherwise dataset-<random>."""
    words = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")
    return words[:80] if len(words) >= 3 else f"dataset-{uuid.uuid4().hex[:8]}"


def values_from(package):
    """Form values of an existing dataset (tags as one comma-separated string)."""
    vals = dict(package)
    vals["tags"] = ", ".join(t["name"] for t in package.get("tags") or [])
    return vals


def to_action(form, editing):
    """The package_create / package_patch dict of a submitted form (what was typed, nothing else)."""
    data = {"title": form.get("title", "").strip(), "name": form.get("name", "").strip(),
            "private": form.get("private") == "on"}
    if not data["name"] and not editing:
        data["name"] = slug(data["title"])
    for f in gdc.schema()["core_fields"] + gdc.schema()["dataset_fields"]:
        name, kind = f["field_name"], f["kind"]
        if name == "title":
            continue
        if kind == "multi":
            chosen = [v for v in form.getlist(name) if v]
            if chosen or editing:
                data[name] = chosen
        elif kind == "tags":
            data["tags"] = [{"name": t.strip()} for t in re.split(r"[,،\n]", form.get("tags", "")) if t.strip()]
        else:
            value = form.get(name, "").strip()
            if value or editing:
                data[name] = value
    return data


def typed(form):
    """What was typed, to show again with the errors: multi-choice fields as lists, the rest as text."""
    multi = {f["field_name"] for f in gdc.schema()["dataset_fields"] if f["kind"] == "multi"}
    return {k: form.getlist(k) if k in multi else form.get(k) for k in form}
