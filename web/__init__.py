"""Flask app factory: one business layer (catalog/), two faces (JSON API and HTML pages)."""
import threading

from flask import Flask, g, request

from catalog import db as catalog_db
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
    app.config.update(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    # Migrate once at start so request threads never race on schema changes.
    catalog_db.connect(settings.db_path).close()

    from . import api, pages

    app.register_blueprint(api.bp)
    app.context_processor(_page_globals)
    app.register_blueprint(pages.bp)
    from . import cubes as cube_api

    app.register_blueprint(cube_api.bp)
    from . import explorer

    app.register_blueprint(explorer.bp)
    app.teardown_appcontext(_end_request)
    return app


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
            user = user_for_token(db, token)
        elif session.get("user_id"):
            from catalog.users import get_user

            row = get_user(db, session["user_id"])
            user = {"id": row["id"], "name": row["name"], "sysadmin": bool(row["sysadmin"])} if row else None
    site_url = settings.site_url or request.host_url.rstrip("/")
    g.ctx = Context(db=db, settings=settings, user=user, site_url=site_url)
    return g.ctx


def _page_globals():
    from catalog import sitemeta

    return {"synthetic_demo": sitemeta.is_demo(get_db())}


def _end_request(exc):
    ctx = g.pop("ctx", None)
    if ctx is not None:
        catalog_db.abandon(ctx.db)
