"""What a portal team runs the site with: /healthz for the proxy, Prometheus metrics, one log line per request."""
import json
import logging
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from catalog import health
from catalog.settings import is_postgresql
from catalog.store import db as catalog_db
from catalog.store.searchreplica import replica_stats

from .api import json_response
from .context import get_db

bp = Blueprint("operations", __name__)
log = logging.getLogger("khlang.request")


class Metrics:
    """This app's Prometheus metrics (a registry per app, so several apps in one process stay apart)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("khlang_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.seconds = Histogram("khlang_request_seconds", "Time to answer a request, by route", ["route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.jobs = Gauge("khlang_jobs", "Background work by queue (jobs: DataStore loads; harvest_jobs) and state",
                          ["queue", "state"], registry=self.registry)
        self.pool = Gauge("khlang_db_pool", "Catalogue connection pool: connections open, idle, requests waiting",
                          ["state"], registry=self.registry)
        self.search_copy = Gauge("khlang_search_copy", "PostgreSQL only: the node's copy of the search index, "
                                 "entries held and whether searches use it (0 while it is built)", ["state"],
                                 registry=self.registry)


@bp.route("/healthz")
def healthz():
    """200 when the catalogue, the storage folder and DuckDB all answer; 503 naming what does not."""
    checks = health.checks(current_app.config["SETTINGS"], get_db())
    ok = all(v == "ok" for v in checks.values())
    return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503,
                         headers={"Cache-Control": "no-store"})


@bp.route("/metrics")
def metrics():
    """Prometheus text format: request counts and latencies by route, and the work queues by state."""
    m = current_app.extensions["khlang_metrics"]
    m.jobs.clear()
    for (queue, state), n in health.job_counts(get_db()).items():
        m.jobs.labels(queue, state).set(n)
    settings = current_app.config["SETTINGS"]
    stats = catalog_db.pool(settings.db_path, settings.db_pool_size).stats()
    m.pool.labels("open").set(stats.get("pool_size", 0))
    m.pool.labels("idle").set(stats.get("pool_available", 0))
    m.pool.labels("waiting").set(stats.get("requests_waiting", 0))
    if is_postgresql(settings.db_path):
        entries, in_use = replica_stats().get(settings.db_path, (0, False))
        m.search_copy.labels("entries").set(entries)
        m.search_copy.labels("in_use").set(int(in_use))
    return Response(generate_latest(m.registry), content_type=CONTENT_TYPE_LATEST)


def _started():
    g.started = time.perf_counter()


def _finished(response):
    seconds = time.perf_counter() - g.pop("started", time.perf_counter())
    # The route's pattern, never the URL itself: bounded label values, no names or ids in the metrics.
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    m = current_app.extensions["khlang_metrics"]
    m.requests.labels(route, request.method, str(response.status_code)).inc()
    m.seconds.labels(route).observe(seconds)
    ctx = g.get("ctx")
    log.info(json.dumps({"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "method": request.method, "path": request.path, "route": route,
                         "status": response.status_code, "ms": round(seconds * 1000, 1),
                         # The declared length only: measuring a streamed download would buffer all of it.
                         "bytes": response.content_length,
                         "user": ctx.user["name"] if ctx is not None and ctx.user else None,
                         "remote": request.remote_addr}, ensure_ascii=False))
    return response


def init_app(app):
    """Count and log every request; serve /healthz and /metrics."""
    app.extensions["khlang_metrics"] = Metrics()
    app.before_request(_started)
    app.after_request(_finished)
    app.register_blueprint(bp)
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

