"""Changing and closing accounts: user_update (yourself, or anyone for sysadmins) and user_delete."""
from . import auth
from .store.db import transaction
from .errors import NotAuthorized, NotFound, ValidationError
from .gdc import is_email
from .params import get_or_bust
from .store import users as user_store
from .store.users import EDITABLE, get_user
from .users import check_password, set_password, user_dict


def user_update(ctx, data):
    """Change a user's full name, about text, e-mail or password; a password change ends their other sessions.

    Users change their own account (a new password needs `old_password`); sysadmins change anyone's."""
    auth.require_user(ctx)
    row = get_user(ctx.db, get_or_bust(data, "id"))
    if row is None:
        raise NotFound("User not found")
    own = row["id"] == ctx.user_id
    if not (own or ctx.sysadmin):
        raise NotAuthorized("You may change only your own account")
    errors, values = {}, {}
    if "name" in data and data["name"] != row["name"]:
        errors["name"] = ["A user name cannot be changed"]
    for key in EDITABLE:
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors[key] = ["Must be a string"]
            elif key == "email" and not (value and is_email(value)):
                errors[key] = ["Email is not valid"]
            else:
                values[key] = value or None
    password = data.get("password")
    if password not in (None, ""):
        if not isinstance(password, str) or len(password) < 8:
            errors["password"] = ["Your password must be 8 characters or longer"]
        elif own and not check_password(row["password_hash"], data.get("old_password") or ""):
            errors["old_password"] = ["The old password is not correct"]
    if errors:
        raise ValidationError(errors)
    with transaction(ctx.db):
        if values:
            user_store.update(ctx.db, row["id"], values)
        if password not in (None, ""):
            set_password(ctx.db, row["id"], password)   # ends the user's other sessions
    return user_dict(get_user(ctx.db, row["id"]), ctx)


def user_delete(ctx, data):
    """Close an account (sysadmins): it can no longer log in, its tokens and memberships go, its sessions end."""
    auth.require_sysadmin(ctx)
    row = get_user(ctx.db, get_or_bust(data, "id"))
    if row is None:
        raise NotFound("User not found")
    with transaction(ctx.db):
        user_store.close(ctx.db, row["id"])
    return None
