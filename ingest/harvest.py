"""Harvesting agency catalogues into this one: CKAN portals through their Action API (paged by
metadata_modified, incremental after the first run) and DCAT documents (Turtle, JSON-LD, RDF/XML, hydra
pages) through rdflib. Each remote record becomes a local dataset that says where it came from; unchanged
records are not rewritten, records the source deleted are withdrawn, bad records are logged and skipped."""
import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from catalog import gdc, harvestsources, jobs
from catalog.context import Context
from catalog.errors import ActionError, NotFound
from catalog.groups import organization_create
from catalog.packages import package_create, package_delete, package_update
from catalog.store import harvest as harvest_store
from catalog.store.db import transaction
from catalog.store.groups import get_group
from catalog.store.packages import get_package
from catalog.params import name_errors, tag_errors

from .realdata import org_slug

PAGE = 100
MAX_RECORD_BYTES = 1_000_000          # one remote dataset's JSON; larger ones are skipped with the reason
MAX_DOCUMENT_BYTES = 200_000_000      # one page or DCAT document
MAX_PAGES = 20_000
TIMEOUT = 30
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
RDF_FORMATS = {".ttl": "turtle", ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml", ".xml": "xml",
               "text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}
OWN_EXTRAS = ("harvest_source", "harvest_url", "harvest_remote_id")


class HarvestError(Exception):
    """The run cannot go on: the source is unreachable, is not what its type says, or loops."""


def _fetch(session, url, params=None):
    """(bytes, content type) of a URL or file:// document, within the size limit."""
    if url.startswith("file://"):
        path = Path(urlparse(url).path)
        if not path.is_file():
            raise HarvestError(f"no such file: {path}")
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise HarvestError(f"{path} is larger than {MAX_DOCUMENT_BYTES:,} bytes")
        return path.read_bytes(), ""
    try:
        with session.get(url, params=params, timeout=TIMEOUT, stream=True) as r:
            body = b""
            for chunk in r.iter_content(1 << 20):
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise HarvestError(f"{url} answered more than {MAX_DOCUMENT_BYTES:,} bytes")
            if r.status_code >= 400 and r.status_code not in (400, 409):
                raise HarvestError(f"{r.url} answered HTTP {r.status_code}")
            return body, r.headers.get("Content-Type", "")
    except requests.RequestException as exc:
        raise HarvestError(f"cannot reach {url}: {type(exc).__name__}") from None


def _action(session, base, name, params):
    body, kind = _fetch(session, f"{base}/api/3/action/{name}", params)
    try:
        doc = json.loads(body)
    except ValueError:
        raise HarvestError(f"{base} is not a CKAN portal: {name} answered {kind or 'something'} that is not JSON") \
            from None
    if not isinstance(doc, dict) or "success" not in doc:
        raise HarvestError(f"{base} is not a CKAN portal: {name} did not answer CKAN's envelope")
    if not doc["success"]:
        raise HarvestError(f"{base} refused {name}: {json.dumps(doc.get('error'), ensure_ascii=False)[:300]}")
    return doc["result"]


def _reason(exc):
    """Why a record was skipped, in one line (an action's field errors, or the error's text)."""
    return exc.summary() if hasattr(exc, "summary") else str(exc)


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


class Run:
    """One run of one source: the context it writes with, counts and the log of skipped records."""

    def __init__(self, settings, db, source, user):
        self.db, self.source = db, source
        self.ctx = Context(db=db, settings=settings, user=user, harvesting=source["name"])
        self.stats, self.log = Counter(), []
        self.known = harvestsources.objects(db, source["id"])
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "khlang-harvest"

    def skip(self, remote, reason):
        self.stats["skipped"] += 1
        self.log.append({"remote": str(remote)[:200], "reason": str(reason)[:500]})

    def org_for(self, remote_org):
        """The local organization of a record: the source's own, or one made from the remote one."""
        if self.source["org"]:
            return self.source["org"]
        if not remote_org or not remote_org.get("name"):
            raise ValueError("the record has no organization and the source has no --org")
        name = remote_org["name"] if not name_errors(remote_org["name"]) else org_slug(remote_org.get("title") or "",
                                                                                         {}, {})
        if not get_group(self.db, name, is_org=True):
            organization_create(self.ctx, {"name": name, "title": remote_org.get("title") or name,
                                           "description": remote_org.get("description") or ""})
            self.stats["organizations"] += 1
        return name

    def local_name(self, wanted, remote_id):
        """The remote name, unless a dataset that is not this record's already has it locally."""
        obj = self.known.get(remote_id)
        row = get_package(self.db, wanted)
        if row is None or row["state"] == "deleted" or (obj and obj["package_id"] == row["id"]):
            return wanted
        return f"{self.source['name']}-{wanted}"[:100].rstrip("-")

    def put(self, remote_id, remote_name, remote_url, modified, fields):
        """Create or update the local dataset of one record; unchanged records are left as they are."""
        digest = _digest(fields)
        obj = self.known.get(remote_id)
        if obj and obj["content_hash"] == digest and get_package(self.db, obj["package_id"]):
            self.stats["unchanged"] += 1
            return
        try:
            with transaction(self.db):
                row = get_package(self.db, obj["package_id"]) if obj else None
                if row is not None and row["state"] != "deleted":
                    pkg = package_update(self.ctx, {**fields, "id": row["id"], "name": row["name"]})
                    self.stats["updated"] += 1
                else:
                    pkg = package_create(self.ctx, {**fields, "name": self.local_name(fields["name"], remote_id)})
                    self.stats["created"] += 1
                harvestsources.record(self.db, self.source["id"], remote_id, remote_name, pkg["id"], remote_url,
                                      modified, digest)
        except (ActionError, ValueError) as exc:
            self.skip(remote_name or remote_id, _reason(exc))

    def withdraw(self, still_there):
        """Withdraw (delete) the local datasets of records the source no longer has."""
        self.known = harvestsources.objects(self.db, self.source["id"])   # with this run's renames
        for remote_id, obj in self.known.items():
            if remote_id in still_there or obj["remote_name"] in still_there:
                continue
            with transaction(self.db):
                try:
                    package_delete(self.ctx, {"id": obj["package_id"]})
                except NotFound:
                    pass
                harvestsources.forget(self.db, self.source["id"], remote_id)
            self.stats["withdrawn"] += 1

    def common(self, name, title, notes, tags, resources, extras, remote_id, remote_url, org):
        tags = [t for t in dict.fromkeys(tags) if isinstance(t, str) and not tag_errors(t)]
        own = {"harvest_source": self.source["name"], "harvest_url": remote_url or "", "harvest_remote_id": remote_id}
        kept = [e for e in extras if e.get("key") not in OWN_EXTRAS and e.get("key") not in gdc.fields()]
        return {"name": name, "title": title or name, "notes": notes or "", "owner_org": self.org_for(org),
                "tags": [{"name": t} for t in tags], "resources": resources,
                "extras": kept + [{"key": k, "value": v} for k, v in own.items()]}


# ---- CKAN ------------------------------------------------------------------------------------------------

def _ckan_fields(run, base, rec):
    remote_url = f"{base}/dataset/{rec['name']}"
    resources = [{"name": (r.get("name") or r.get("url") or "resource")[:1000], "url": r.get("url") or "",
                  "format": r.get("format") or "", "description": r.get("description") or ""}
                 for r in rec.get("resources") or [] if isinstance(r, dict)]
    extras = [e for e in rec.get("extras") or [] if isinstance(e, dict) and isinstance(e.get("key"), str)]
    fields = run.common(rec["name"], rec.get("title"), rec.get("notes"),
                        [t.get("name") for t in rec.get("tags") or [] if isinstance(t, dict)], resources, extras,
                        rec["id"], remote_url, rec.get("organization"))
    for key in ("url", "version", "author", "author_email", "maintainer", "maintainer_email", "license_id"):
        if rec.get(key):
            fields[key] = rec[key]
    # GDC fields keep their values (ckanext-scheming puts them at the top level, as Khlang does).
    fields.update({k: rec[k] for k in gdc.fields() if rec.get(k) not in (None, "", [])})
    return fields, remote_url


def harvest_ckan(run):
    """Page through the source's package_search (oldest change first), then withdraw what it deleted."""
    src = run.source
    base = src["url"].rstrip("/")
    names = _action(run.session, base, "package_list", {})
    fq = src["fq"] or ""
    if src["last_modified_seen"]:
        fq = f"{fq} metadata_modified:[{src['last_modified_seen']}Z TO *]".strip()
    start, pages, seen, newest = 0, 0, set(), src["last_modified_seen"]
    while True:
        result = _action(run.session, base, "package_search", {"q": "", "fq": fq, "rows": PAGE, "start": start,
                                                               "sort": "metadata_modified asc, id asc"})
        records = result.get("results") or []
        ids = tuple(r.get("id") for r in records if isinstance(r, dict))
        if ids and ids in seen:
            raise HarvestError(f"{base} returned the same page again at start={start}; stopped (loop)")
        seen.add(ids)
        pages += 1
        if pages > MAX_PAGES:
            raise HarvestError(f"more than {MAX_PAGES:,} pages; stopped")
        with transaction(run.db):
            for rec in records:
                if not isinstance(rec, dict) or not rec.get("id") or not rec.get("name"):
                    run.skip(rec if not isinstance(rec, dict) else rec.get("name"), "not a CKAN dataset record")
                    continue
                if len(json.dumps(rec, ensure_ascii=False).encode("utf-8")) > MAX_RECORD_BYTES:
                    run.skip(rec["name"], f"the record is larger than {MAX_RECORD_BYTES:,} bytes")
                    continue
                try:
                    fields, remote_url = _ckan_fields(run, base, rec)
                except (ActionError, ValueError) as exc:
                    run.skip(rec["name"], _reason(exc))
                    continue
                run.put(rec["id"], rec["name"], remote_url, rec.get("metadata_modified"), fields)
                newest = max(filter(None, [newest, rec.get("metadata_modified")]), default=None)
        start += len(records)
        if not records or start >= int(result.get("count") or 0):
            break
    run.withdraw(set(names))
    if newest:
        harvestsources.seen_until(run.db, src["id"], newest[:26])


# ---- DCAT ------------------------------------------------------------------------------------------------

def _text(graph, node, prop):
    """The Thai value of a literal property if there is one, else any."""
    values = [o for o in graph.objects(node, prop) if isinstance(o, Literal)]
    for lang in ("th", None, "en"):
        for v in values:
            if v.language == lang:
                return str(v)
    return str(values[0]) if values else None


def _slug(text):
    s = re.sub(r"[^a-z0-9_-]+", "-", (text or "").lower()).strip("-")[:90]
    return s if len(s) >= 2 else "ds-" + hashlib.sha256((text or "").encode()).hexdigest()[:12]


def _dcat_fields(run, graph, ds):
    uri = str(ds)
    ident = _text(graph, ds, DCTERMS.identifier) or uri.rstrip("/").rsplit("/", 1)[-1]
    landing = next(graph.objects(ds, DCAT.landingPage), None)
    # A name from the landing page (a CKAN page ends in the dataset's name), else from the URI.
    name = _slug(str(landing or uri).rstrip("/").rsplit("/", 1)[-1])
    publisher = next(graph.objects(ds, DCTERMS.publisher), None)
    pub_name = _text(graph, publisher, FOAF.name) if publisher is not None else None
    org = {"name": org_slug(pub_name, {}, {}), "title": pub_name} if pub_name else None
    resources = []
    for dist in graph.objects(ds, DCAT.distribution):
        url = next(graph.objects(dist, DCAT.downloadURL), None) or next(graph.objects(dist, DCAT.accessURL), None)
        fmt = next(graph.objects(dist, DCTERMS["format"]), None)
        resources.append({"name": (_text(graph, dist, DCTERMS.title) or str(url or "resource"))[:1000],
                          "url": str(url or ""), "format": str(fmt) if isinstance(fmt, Literal) else
                          (str(fmt).rsplit("/", 1)[-1] if fmt else ""),
                          "description": _text(graph, dist, DCTERMS.description) or ""})
    fields = run.common(name, _text(graph, ds, DCTERMS.title), _text(graph, ds, DCTERMS.description),
                        [str(k) for k in graph.objects(ds, DCAT.keyword)], resources, [], uri,
                        str(landing) if landing else uri, org)
    return fields, str(landing) if landing else uri, ident


def harvest_dcat(run):
    """Every dcat:Dataset of the document and of its hydra next pages; withdraw what is no longer there."""
    url, visited, found = run.source["url"], set(), set()
    while url:
        if url in visited:
            raise HarvestError(f"{url} was already read in this run; stopped (loop)")
        if len(visited) >= MAX_PAGES:
            raise HarvestError(f"more than {MAX_PAGES:,} pages; stopped")
        visited.add(url)
        body, kind = _fetch(run.session, url)
        fmt = RDF_FORMATS.get(kind.split(";")[0].strip()) or RDF_FORMATS.get(Path(urlparse(url).path).suffix) \
            or "turtle"
        graph = Graph()
        try:
            graph.parse(data=body, format=fmt, publicID=url)
        except Exception as exc:  # noqa: BLE001 - rdflib raises many kinds; all mean "not a DCAT document"
            raise HarvestError(f"{url} is not a DCAT document rdflib can read as {fmt}: {str(exc)[:200]}") from None
        with transaction(run.db):
            for ds in graph.subjects(RDF.type, DCAT.Dataset):
                try:
                    fields, landing, _ = _dcat_fields(run, graph, ds)
                except (ActionError, ValueError) as exc:
                    run.skip(str(ds), _reason(exc))
                    continue
                found.add(str(ds))
                run.put(str(ds), fields["name"], landing, None, fields)
        nxt = next((o for s in graph.subjects(RDF.type, HYDRA.PagedCollection) for o in graph.objects(s, HYDRA.nextPage)),
                   None) or next(graph.objects(None, HYDRA.nextPage), None)
        url = urljoin(url, str(nxt)) if nxt is not None else None
    run.withdraw(found)


HARVESTERS = {"ckan": harvest_ckan, "dcat": harvest_dcat}


def run_job(settings, db, job, user):
    """Run one claimed harvest job to its end; returns the job's final dict."""
    source = harvest_store.source_by_id(db, job["source_id"])
    started = time.perf_counter()
    run = Run(settings, db, source, user)
    try:
        if source["detached"] or source["state"] != "active":
            raise HarvestError("the source is detached (its datasets are local now); attach it again to harvest")
        HARVESTERS[source["type"]](run)
    except HarvestError as exc:
        harvestsources.finish(db, job["id"], "error", _stats(run, started), run.log, str(exc))
    except Exception as exc:  # noqa: BLE001 - a run must end in a state the API can show, whatever broke
        harvestsources.finish(db, job["id"], "error", _stats(run, started), run.log, f"{type(exc).__name__}: {exc}")
    else:
        harvestsources.finish(db, job["id"], "complete", _stats(run, started), run.log)
    return harvestsources.job_dict(harvest_store.get_job(db, job["id"]))


def _stats(run, started):
    return {**{k: run.stats.get(k, 0) for k in ("created", "updated", "unchanged", "withdrawn", "skipped",
                                                "organizations")}, "seconds": round(time.perf_counter() - started, 2)}


def run_pending(settings, db, user, now):
    """Queue the scheduled sources that are due, then run every pending harvest job; returns how many ran."""
    harvestsources.fail_orphans(db)
    for source in harvestsources.due_sources(db, now):
        harvestsources.queue(db, source["id"])
    n = 0
    while True:
        job = harvestsources.claim_next(db)
        if job is None:
            return n
        with jobs.leased(settings, "harvest_jobs", job["id"]):
            run_job(settings, db, job, user)
        n += 1
