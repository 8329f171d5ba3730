"""One ingest into this Khlang: validate files, then load them as a new version of a dataset's resource,
creating or updating the organization and dataset with the metadata an agency gives (Thai titles,
description, licence, tags, GDC fields). Used by `khlang ingest` and by the real-data demo."""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from catalog.store.db import transaction
from catalog.packages import package_patch

from . import loading, validation

@dataclass
class Metadata:
    """What an agency says about its dataset beyond the file: all optional; Thai goes in the titles."""

    title: str = None
    notes: str = None
    org_title: str = None
    org_title_en: str = None
    license_id: str = None
    tags: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)   # GDC fields and other top-level dataset fields
    coverage: list = field(default_factory=list)  # [{fiscal_years, th, en}] shown beside the spending figures
    ckan_extras: dict = field(default_factory=dict)   # free key/value extras (title_en, citation, ...)

    def package_fields(self, source):
        """Dataset fields to create or patch, falling back to the source format's Thai title and tags."""
        out = dict(self.extras)
        title = self.title or (source or {}).get("title_th")
        notes = self.notes or (source or {}).get("description_th")
        tags = self.tags or (source or {}).get("tags") or []
        if title:
            out["title"] = title
        if notes:
            out["notes"] = notes
        if tags:
            out["tags"] = [{"name": t} for t in dict.fromkeys(tags)]
        if self.license_id:
            out["license_id"] = self.license_id
        pairs = {k: v for k, v in self.ckan_extras.items() if v}
        if self.coverage:
            pairs["coverage_notes"] = json.dumps(self.coverage, ensure_ascii=False)
        if pairs:
            out["extras"] = [{"key": k, "value": v} for k, v in pairs.items()]
        return out

    def given(self):
        """Fields the caller set explicitly (these update an existing dataset; defaults do not)."""
        return bool(self.title or self.notes or self.license_id or self.tags or self.extras or self.coverage
                    or self.ckan_extras)


def resource_name(given, plan, paths):
    """The resource name: as given, the file's name for one file, else the source format's label."""
    if given:
        return given
    if len(paths) == 1:
        return Path(paths[0]).name
    return (plan.source or {}).get("title") or Path(paths[0]).stem


@dataclass
class Outcome:
    """What an ingest did: the validation report, and (when valid) where the rows went."""

    report: dict
    loaded: dict = None
    resource: str = None
    seconds: float = 0.0


def ingest_local(ctx, paths, *, org, dataset, schema=None, source=None, resource=None, meta=None, workdir=None,
                 indexes=None, memory_limit=validation.SERVER_MEMORY):
    """Validate `paths`, then load them as one new version of the dataset's resource; nothing loads if invalid.

    `indexes` (CKAN's datastore_create form) replaces the table's declared indexes; None keeps them."""
    started = time.perf_counter()
    meta = meta or Metadata()
    plan = validation.plan_for(schema, source)
    base = workdir or str(Path(ctx.settings.storage_dir) / "tmp")
    with validation.Workspace(base, memory_limit) as ws:
        checked = [validation.check_file(ws, p, plan, i) for i, p in enumerate(paths)]
        report = validation.report(checked, started)
        if not report["valid"]:
            return Outcome(report, seconds=time.perf_counter() - started)
        name = resource_name(resource, plan, paths)
        fmt = (plan.source or {}).get("format") or Path(paths[0]).suffix.lstrip(".").upper()
        note = f"khlang ingest --source {plan.source['name']}" if plan.source else "khlang ingest"
        org_dict = {"name": org, "title": meta.org_title or org}
        if meta.org_title_en:
            org_dict["extras"] = [{"key": "title_en", "value": meta.org_title_en}]
        fields = meta.package_fields(plan.source)
        out = loading.publish_local(ctx, ws, checked, org_dict, {"name": dataset, "title": dataset, **fields}, name,
                                    fmt, report, note, source=plan.source, indexes=indexes)
        if out["existed"] and meta.given():
            with transaction(ctx.db):
                package_patch(ctx, {"id": dataset, **fields})
    return Outcome(report, out, name, time.perf_counter() - started)
