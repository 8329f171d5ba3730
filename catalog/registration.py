"""Accounts people make themselves: registration verified by e-mail, and password reset by e-mail.

Each link carries a signed, timed token (itsdangerous). A verification token names the account and its e-mail;
a reset token names the account and a piece of its password hash, so it works once and dies with the next
password."""
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from . import mail
from .errors import NotAuthorized, ValidationError
from .gdc import is_email
from .store import users as user_store
from .store.db import transaction
from .users import create_user, set_password

VERIFY_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 3600


def _signer(secret, purpose):
    return URLSafeTimedSerializer(secret, salt=f"khlang-{purpose}")


def _read(secret, purpose, token, max_age):
    try:
        return _signer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError({"token": ["This link has expired; ask for a new one"]}) from None
    except BadSignature:
        raise ValidationError({"token": ["This link is not valid"]}) from None


def register(ctx, data, secret, link):
    """Make a pending account and mail its verification link (`link(token)` is the link's URL); the account
    can log in once the link is followed. Nothing is kept when the mail cannot be sent."""
    if not ctx.settings.registration:
        raise NotAuthorized("Registration is turned off on this site")
    email = (data.get("email") or "").strip()
    errors = {}
    if not is_email(email):
        errors["email"] = ["Email is not valid"]
    elif user_store.email_taken(ctx.db, email):
        errors["email"] = ["An account with this e-mail already exists; log in or reset its password"]
    if data.get("password") != data.get("password2"):
        errors["password2"] = ["The passwords do not match"]
    if errors:
        raise ValidationError(errors)
    row = create_user(ctx.db, (data.get("name") or "").strip(), email=email, password=data.get("password") or "",
                      fullname=(data.get("fullname") or "").strip() or None, state="pending")
    token = _signer(secret, "verify").dumps({"u": row["id"], "e": email})
    # Sent after the account is committed, not inside its transaction: a slow mail server must not hold the
    # catalogue's write lock (every node's, on PostgreSQL). A mail that cannot go takes the account back.
    try:
        mail.send(ctx.settings, email, f"{ctx.settings.site_title}: ยืนยันอีเมล / verify your e-mail",
                  f"สวัสดี {row['name']}\n\nเปิดลิงก์นี้เพื่อยืนยันอีเมลและเริ่มใช้บัญชี (ภายใน 3 วัน):\n"
                  f"Open this link to verify your e-mail and start using your account (within 3 days):\n\n"
                  f"{link(token)}\n\nถ้าคุณไม่ได้สมัคร ไม่ต้องทำอะไร / If you did not register, ignore this mail.\n")
    except mail.MailError:
        with transaction(ctx.db):
            user_store.delete_pending(ctx.db, row["id"])
        raise
    return row


def verify(ctx, secret, token):
    """Activate the account a verification link names; its row."""
    payload = _read(secret, "verify", token, VERIFY_MAX_AGE)
    row = user_store.by_id(ctx.db, payload.get("u"))
    if row is None or row["email"] != payload.get("e") or row["state"] not in ("pending", "active"):
        raise ValidationError({"token": ["This link is not valid"]})
    with transaction(ctx.db):
        user_store.activate(ctx.db, row["id"])
    return user_store.by_id(ctx.db, row["id"])


def _password_mark(row):
    return (row["password_hash"] or "")[-16:]


def request_reset(ctx, secret, login, link):
    """Mail a password-reset link to the active account with this name or e-mail, if there is one. The caller is
    told the same either way, so the form never says which accounts exist."""
    row = user_store.by_login(ctx.db, (login or "").strip())
    if row is None or not row["email"]:
        return
    token = _signer(secret, "reset").dumps({"u": row["id"], "p": _password_mark(row)})
    mail.send(ctx.settings, row["email"], f"{ctx.settings.site_title}: ตั้งรหัสผ่านใหม่ / reset your password",
              f"สวัสดี {row['name']}\n\nเปิดลิงก์นี้เพื่อตั้งรหัสผ่านใหม่ (ภายใน 1 ชั่วโมง ใช้ได้ครั้งเดียว):\n"
              f"Open this link to set a new password (within an hour, once):\n\n{link(token)}\n\n"
              f"ถ้าคุณไม่ได้ขอ ไม่ต้องทำอะไร รหัสผ่านเดิมยังใช้ได้ / If you did not ask, ignore this mail.\n")


def reset_user(ctx, secret, token):
    """The active account a reset link names, while the link is still good; ValidationError otherwise."""
    payload = _read(secret, "reset", token, RESET_MAX_AGE)
    row = user_store.by_id(ctx.db, payload.get("u"))
    if row is None or row["state"] != "active" or _password_mark(row) != payload.get("p"):
        raise ValidationError({"token": ["This link has been used or is not valid; ask for a new one"]})
    return row


def reset_password(ctx, secret, token, password, password2):
    """Set the new password a reset link allows; every session of the account ends."""
    row = reset_user(ctx, secret, token)
    if password != password2:
        raise ValidationError({"password2": ["The passwords do not match"]})
    set_password(ctx.db, row["id"], password)
    return row


def request_email_change(ctx, secret, user_id, email, link):
    """Mail a confirmation link to the new address of an account; the address changes only when it is followed."""
    row = user_store.by_id(ctx.db, user_id)
    email = (email or "").strip()
    if not is_email(email):
        raise ValidationError({"email": ["Email is not valid"]})
    if user_store.email_taken(ctx.db, email):
        raise ValidationError({"email": ["An account with this e-mail already exists"]})
    token = _signer(secret, "email").dumps({"u": row["id"], "e": email, "o": row["email"] or ""})
    mail.send(ctx.settings, email, f"{ctx.settings.site_title}: ยืนยันอีเมลใหม่ / confirm your new e-mail",
              f"สวัสดี {row['name']}\n\nเปิดลิงก์นี้เพื่อใช้อีเมลนี้กับบัญชีของคุณ (ภายใน 3 วัน):\n"
              f"Open this link to use this address for your account (within 3 days):\n\n{link(token)}\n\n"
              f"ถ้าคุณไม่ได้ขอ ไม่ต้องทำอะไร / If you did not ask, ignore this mail.\n")


def confirm_email_change(ctx, secret, token):
    """Give the account the address a confirmation link names, if the account still has the address it had when
    the link was made; its row."""
    payload = _read(secret, "email", token, VERIFY_MAX_AGE)
    row = user_store.by_id(ctx.db, payload.get("u"))
    if row is None or row["state"] != "active" or (row["email"] or "") != payload.get("o"):
        raise ValidationError({"token": ["This link has been used or is not valid"]})
    if user_store.email_taken(ctx.db, payload["e"]):
        raise ValidationError({"token": ["An account with this e-mail already exists"]})
    with transaction(ctx.db):
        user_store.update(ctx.db, row["id"], {"email": payload["e"]})
    return user_store.by_id(ctx.db, row["id"])
