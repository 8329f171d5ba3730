"""Each request's catalogue connection and action Context: the caller from an API token or the session cookie."""
from flask import abort, current_app, g, request, session

from catalog.context import Context
from catalog.store import db as catalog_db
from catalog.store import sitemeta
from catalog.users import session_epoch, user_for_token
from catalog.store.users import get_user

from .ratelimit import client_key, limit


def get_db():
    """This request's catalogue connection, taken from the node's pool and given back when the response is sent
    (on SQLite, the connection given back last: its page cache is the warmest)."""
    if "pooled_db" not in g:
        settings = current_app.config["SETTINGS"]
        pool = catalog_db.pool(settings.db_path, settings.db_pool_size)
        g.pooled_db = pool.take()
        g.db_pool = pool
    return g.pooled_db


def get_context(allow_auth=True):
    """The action Context of this request: connection, caller (token or session), site URL."""
    if "ctx" in g:
        return g.ctx
    settings = current_app.config["SETTINGS"]
    db = get_db()
    user = None
    if allow_auth:
        token = request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key")
        if token:
            user = _token_user(db, token)
        elif session.get("user_id") and (request.blueprint != "api" or request.method == "GET"):
            # The session cookie authenticates pages and API reads; API writes need a token (no CSRF via the API).
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


def page_globals():
    """What every template sees: the demo banner kind, the signed-in user, the site settings."""
    if g.get("rate_limited"):   # the 429 page itself must not try the token again
        return {"synthetic_demo": False, "real_demo": False, "current_user": None, "site": current_app.config["SETTINGS"]}
    ctx = get_context()
    kind = sitemeta.demo_kind(ctx.db)
    return {"synthetic_demo": kind == "synthetic", "real_demo": kind == "real", "current_user": ctx.user,
            "site": ctx.settings}


def hold_db_until_sent(response):
    """A streamed body still reads the catalogue after the view returns: its pooled connection goes back when
    the response is closed, not before (other responses give theirs back at teardown)."""
    # A file sent as it is (send_file) needs no connection, and Werkzeug hands it to the server without the
    # response's own close(), so it gives its connection back at teardown too.
    if response.is_streamed and not response.direct_passthrough and "pooled_db" in g:
        conn = g.pop("pooled_db")
        pool = g.pop("db_pool")
        response.call_on_close(lambda: pool.give(conn))
    return response


def end_request(exc):
    """Roll back whatever a failed request left open; give back a pooled connection no response took."""
    ctx = g.pop("ctx", None)
    conn = g.pop("pooled_db", None)
    if conn is not None:
        g.pop("db_pool").give(conn)
    elif ctx is not None:
        catalog_db.abandon(ctx.db)
