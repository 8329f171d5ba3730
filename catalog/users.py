"""Users, passwords and API tokens (tokens are stored as sha256 hashes only)."""
import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from . import auth
from .store import users as user_store
from .store.db import transaction
from .store.users import get_user
from .errors import NotAuthorized, NotFound, ValidationError
from .gdc import is_email
from .params import as_int, get_or_bust, name_errors, new_id, now

# werkzeug's hash strings carry their method and parameters ("scrypt:32768:8:1$salt$hash"), so raising
# these re-hashes each password at its next login. The first format ("scrypt$salt$hash") used n=2**14.
PASSWORD_METHOD = "scrypt:32768:8:1"
_LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Checked against for unknown users, so a login takes the same work whether or not the account exists.
_DUMMY = None


def hash_password(password):
    """A salted scrypt hash that records its own parameters."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(stored, password):
    """True when the password matches a stored hash (either format)."""
    if not stored or not isinstance(password, str) or not password:
        return False
    if stored.startswith("scrypt$") and stored.count("$") == 2:
        _, salt, digest = stored.split("$")
        cand = hashlib.scrypt(password.encode(), salt=salt.encode(), dklen=32, **_LEGACY_SCRYPT).hex()
        return hmac.compare_digest(cand, digest)
    return check_password_hash(stored, password)


def needs_rehash(stored):
    """True when a stored hash was made with other (older, weaker) parameters than today's."""
    return not (stored or "").startswith(PASSWORD_METHOD + "$")


def _same_work(password):
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_hex(16))
    check_password(_DUMMY, password if isinstance(password, str) and password else "x")


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(db, token):
    """The user dict an API token belongs to, or None (an unknown token means anonymous)."""
    if not token:
        return None
    row = user_store.by_token_hash(db, _token_hash(token.strip()))
    return {"id": row["id"], "name": row["name"], "sysadmin": bool(row["sysadmin"])} if row else None


def system_user(db):
    """The user the command line and background jobs act as: the first sysadmin (created when there is none)."""
    row = user_store.first_sysadmin(db)
    if row is None:
        row = create_user(db, "khlang-admin", sysadmin=True)
    return {"id": row["id"], "name": row["name"], "sysadmin": True}


def user_for_login(db, name, password):
    """The user dict for a correct name/e-mail and password, or None."""
    row = user_store.by_login(db, name)
    if row is None or not row["password_hash"]:
        _same_work(password)
        return None
    if not check_password(row["password_hash"], password):
        return None
    if needs_rehash(row["password_hash"]):
        with transaction(db):
            user_store.set_password_hash(db, row["id"], hash_password(password), end_sessions=False)
    return {"id": row["id"], "name": row["name"], "sysadmin": bool(row["sysadmin"]), "epoch": row["session_epoch"]}


def session_epoch(db, user_id):
    """The user's current session epoch (sessions carrying another one are void), or None for no user."""
    return user_store.session_epoch(db, user_id)


def end_sessions(db, user_id):
    """Void every session of the user (log out everywhere)."""
    with transaction(db):
        user_store.end_sessions(db, user_id)


def set_password(db, user_id, password):
    """Change a password; every other session of the user ends."""
    if not isinstance(password, str) or len(password) < 8:
        raise ValidationError({"password": ["Your password must be 8 characters or longer"]})
    with transaction(db):
        user_store.set_password_hash(db, user_id, hash_password(password))


def user_dict(row, ctx=None):
    """CKAN's user dict; e-mail only for the user themself and sysadmins."""
    d = {
        "id": row["id"], "name": row["name"], "fullname": row["fullname"], "display_name": row["fullname"] or row["name"],
        "about": row["about"], "created": row["created"], "sysadmin": bool(row["sysadmin"]), "state": row["state"],
        "email_hash": hashlib.md5((row["email"] or "").strip().lower().encode()).hexdigest(),
    }
    if ctx is not None and (ctx.sysadmin or ctx.user_id == row["id"]):
        d["email"] = row["email"]
    return d


def create_user(db, name, *, email=None, password=None, sysadmin=False, fullname=None, state="active"):
    """Insert a user (used by the CLI, user_create and registration); returns the row."""
    errors = {}
    if name_errors(name):
        errors["name"] = name_errors(name)
    elif user_store.name_taken(db, name):
        errors["name"] = ["That login name is not available."]
    if password is not None and not isinstance(password, str):
        errors["password"] = ["Must be a string"]
    elif password is not None and len(password) < 8:
        errors["password"] = ["Your password must be 8 characters or longer"]
    if email is not None and (not isinstance(email, str) or not is_email(email)):
        errors["email"] = ["Email is not valid"]
    if errors:
        raise ValidationError(errors)
    uid = new_id()
    with transaction(db):
        user_store.insert(db, uid, name, fullname, email, hash_password(password) if password else None, sysadmin, now(),
                          state)
    return user_store.by_id(db, uid)


def create_token(db, user_id, name):
    """Make an API token for a user; returns the raw token (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    with transaction(db):
        user_store.insert_token(db, new_id(), user_id, name, _token_hash(token), now())
    return token


def user_create(ctx, data):
    """Create a user account (sysadmins only, as ckan.auth.create_user_via_api is off)."""
    auth.require_sysadmin(ctx)
    name = get_or_bust(data, "name")
    get_or_bust(data, "email")
    password = data.get("password") or None
    if password is None:
        raise ValidationError({"password": ["Missing value"]})
    row = create_user(
        ctx.db, name, email=data.get("email"), password=password, fullname=data.get("fullname"),
        sysadmin=str(data.get("sysadmin", "")).lower() == "true" and ctx.sysadmin,
    )
    return user_dict(row, ctx)


def user_show(ctx, data):
    """A user's public details (e-mail for themself and sysadmins)."""
    name = data.get("id") or data.get("user_obj")
    if not name:
        if not ctx.user:
            raise ValidationError({"id": ["Missing value"]})
        name = ctx.user_id
    row = get_user(ctx.db, name)
    if not row:
        raise NotFound("User not found")
    return user_dict(row, ctx)


def user_list(ctx, data):
    """Users as dicts, ordered by name; `q` matches name or full name, then `limit`/`offset`."""
    auth.require_user(ctx)
    q = str(data.get("q") or "").strip().lower()
    limit = as_int(data, "limit", None, maximum=1000)
    offset = as_int(data, "offset", 0)
    rows = user_store.active(ctx.db)
    if q:
        rows = [r for r in rows if q in r["name"].lower() or q in (r["fullname"] or "").lower()]
    return [user_dict(r, ctx) for r in rows[offset:None if limit is None else offset + limit]]


def api_token_create(ctx, data):
    """Create an API token for yourself (sysadmins: for anyone); returns {"token": ...}."""
    auth.require_user(ctx)
    user_ref = get_or_bust(data, "user")
    name = get_or_bust(data, "name")
    row = get_user(ctx.db, user_ref)
    if not row:
        raise NotFound("User not found")
    if not (ctx.sysadmin or row["id"] == ctx.user_id):
        raise NotAuthorized("You may only create tokens for yourself")
    return {"token": create_token(ctx.db, row["id"], str(name))}


def api_token_list(ctx, data):
    """The caller's tokens (id, name, created, last_access), never the token itself."""
    auth.require_user(ctx)
    user_ref = data.get("user_id") or data.get("user") or ctx.user_id
    row = get_user(ctx.db, user_ref)
    if not row:
        raise NotFound("User not found")
    if not (ctx.sysadmin or row["id"] == ctx.user_id):
        raise NotAuthorized("You may only list your own tokens")
    rows = user_store.tokens_of(ctx.db, row["id"])
    return [{"id": r[0], "name": r[1], "created_at": r[2], "last_access": r[3], "user_id": row["id"]} for r in rows]


def api_token_revoke(ctx, data):
    """Delete one of your tokens by id."""
    auth.require_user(ctx)
    tid = get_or_bust(data, "jti") if "jti" in data else get_or_bust(data, "token")
    owner = user_store.token_owner(ctx.db, tid, _token_hash(str(tid)))
    if not owner:
        raise NotFound("Token not found")
    if not (ctx.sysadmin or owner == ctx.user_id):
        raise NotAuthorized("Not your token")
    with transaction(ctx.db):
        user_store.delete_token(ctx.db, tid, _token_hash(str(tid)))
    return None
