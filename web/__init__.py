"""Flask app factory: one business layer (catalog/), two faces (JSON API and HTML pages)."""
import os
import secrets
from pathlib import Path

from flask import Flask, g
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from catalog.settings import Settings
from catalog.store import db as catalog_db

from . import (accounts, api, cubes, errors, explorer, i18n, links, machine, markup, operations, pages, participation,
               publisher, ratelimit)
from .context import end_request, hold_db_until_sent, page_globals


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
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    # Migrate once at start so request threads never race on schema changes.
    catalog_db.connect(settings.db_path).close()

    operations.init_app(app)
    i18n.init_app(app)
    links.init_app(app)
    ratelimit.init_app(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)   # a form left open for hours still posts
    csrf = CSRFProtect(app)
    # The JSON APIs authenticate POSTs by token, never by the session cookie, so they need no CSRF token.
    for bp in (api.bp, cubes.bp):
        csrf.exempt(bp)
        app.register_blueprint(bp)
    for bp in (pages.bp, explorer.bp, publisher.bp, accounts.bp, participation.bp, machine.bp):
        app.register_blueprint(bp)
    app.jinja_env.filters["markdown"] = markup.render
    app.context_processor(page_globals)
    errors.init_app(app)
    app.after_request(_security_headers)
    app.after_request(_retry_after)
    app.after_request(hold_db_until_sent)
    app.teardown_appcontext(end_request)
    return app


# Images and web pages of resource views may live on other https sites (pages shown sandboxed); scripts never do.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-src https:; base-uri 'self'; form-action 'self'; "
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
    path = Path(settings.storage_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole, then linked into place: nodes starting together on one shared folder all read the one
        # key that won, never a half-written file.
        draft = path.with_name(f".secret_key-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
