"""Flask app factory: one business layer (catalog/), two faces (JSON API and HTML pages)."""
import threading

from flask import Flask, g, request

from catalog.store import db as catalog_db
from catalog.context import Context
from catalog.settings import Settings
from catalog.users import user_for_token

_local = threading.local()


def create_app(test_config=None):
    """Build the app; `test_config` may hold SETTINGS (a Settings) or plain Flask keys."""
    app = Flask(__name__)
    test_config = dict(test_config or {})
    settings = test_config.pop("SETTINGS", None) or Settings.from_env()
    app.config.update(SETTINGS=settings, SECRET_KEY=settings.extra.get("secret_key") or _secret_key(settings),
                      MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 + 1024 * 1024,
                      JSON_AS_ASCII=False)
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=(settings.site_url or "").startswith("https://"))
    app.config.update(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if settings.trusted_proxies:
        # Behind N reverse proxies: the client's address is the Nth from the right in X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    # Migrate once at start so request threads never race on schema changes.
    catalog_db.connect(settings.db_path).close()

    from flask_wtf.csrf import CSRFProtect

    from . import (api, cubes, errors, explorer, i18n, links, machine, markup, pages, participation, publisher,
                   ratelimit)

    i18n.init_app(app)
    links.init_app(app)
    ratelimit.init_app(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)   # a form left open for hours still posts
    csrf = CSRFProtect(app)
    # The JSON APIs authenticate POSTs by token, never by the session cookie, so they need no CSRF token.
    for bp in (api.bp, cubes.bp):
        csrf.exempt(bp)
        app.register_blueprint(bp)
    for bp in (pages.bp, explorer.bp, publisher.bp, participation.bp, machine.bp):
        app.register_blueprint(bp)
    app.jinja_env.filters["markdown"] = markup.render
    app.context_processor(_page_globals)
    errors.init_app(app)
    app.after_request(_security_headers)
    app.after_request(_retry_after)
    app.teardown_appcontext(_end_request)
    return app


CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def _retry_after(response):
    if response.status_code == 429 and g.get("retry_after"):
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def _security_headers(response):
    # Plotly writes style attributes, hence 'unsafe-inline' for styles only; no inline script runs anywhere.
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def _secret_key(settings):
    """The session-signing key, made once per storage folder and shared by every process."""
    import os
    import secrets
    from pathlib import Path

    path = Path(settings.storage_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip()


def get_db():
    """This thread's catalogue connection (kept open per thread so SQLite's page cache stays warm)."""
    from flask import current_app

    settings = current_app.config["SETTINGS"]
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(settings.db_path)
    if conn is None:
        conn = conns[settings.db_path] = catalog_db.connect(settings.db_path, migrate=False)
    return conn


def get_context(allow_auth=True):
    """The action Context of this request: connection, caller (token or session), site URL."""
    if "ctx" in g:
        return g.ctx
    from flask import current_app, session

    settings = current_app.config["SETTINGS"]
    db = get_db()
    user = None
    if allow_auth:
        token = request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key")
        if token:
            user = _token_user(db, token)
        elif session.get("user_id") and (request.blueprint != "api" or request.method == "GET"):
            # The session cookie authenticates pages and API reads; API writes need a token (no CSRF via the API).
            from catalog.users import get_user, session_epoch

            row = get_user(db, session["user_id"])
            # A session from before a password change or a "log out everywhere" is void.
            if row and session.get("epoch") == session_epoch(db, row["id"]):
                user = {"id": row["id"], "name": row["name"], "sysadmin": bool(row["sysadmin"])}
            else:
                session.clear()
    site_url = settings.site_url or request.host_url.rstrip("/")
    g.ctx = Context(db=db, settings=settings, user=user, site_url=site_url)
    return g.ctx


def _token_user(db, token):
    # Unknown tokens count against the caller's address; past the limit every token it sends gets 429.
    from flask import abort

    from .ratelimit import limit

    from .ratelimit import client_key

    who = client_key(request.remote_addr)
    wait = limit("tokens").retry_after(who)
    if wait:
        g.rate_limited = True
        g.retry_after = wait
        abort(429)
    user = user_for_token(db, token)
    if user is None:
        limit("tokens").fail(who)
    return user


def _page_globals():
    from catalog.store import sitemeta

    if g.get("rate_limited"):   # the 429 page itself must not try the token again
        from flask import current_app

        return {"synthetic_demo": False, "real_demo": False, "current_user": None, "site": current_app.config["SETTINGS"]}
    ctx = get_context()
    kind = sitemeta.demo_kind(ctx.db)
    return {"synthetic_demo": kind == "synthetic", "real_demo": kind == "real", "current_user": ctx.user,
            "site": ctx.settings}


def _end_request(exc):
    ctx = g.pop("ctx", None)
    if ctx is not None:
        catalog_db.abandon(ctx.db)
