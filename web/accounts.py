"""People's own accounts on the site: register (verified by e-mail), reset a forgotten password by e-mail, edit
a profile; sysadmins close accounts. The rules live in catalog (registration, accounts); this is their face."""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog import actions, registration
from catalog.errors import NotAuthorized, NotFound, ValidationError
from catalog.mail import MailError

from .ratelimit import client_key, limit
from .context import get_context
from .errors import error_page
from .publisher import login_required

bp = Blueprint("accounts", __name__)


def _link(endpoint):
    """A builder of absolute links to `endpoint` with a token, on the site's public URL."""
    ctx = get_context()
    return lambda token: ctx.site_url + url_for(endpoint, token=token)


def _secret():
    return current_app.config["SECRET_KEY"]


def _bad_link(exc):
    """The page of a mailed link that is expired, used or not ours: 400 saying which."""
    return render_template("account_message.html", title=_("This link does not work"),
                           message=exc.errors["token"][0]), 400


def _limited():
    """A 429 page once this address has used up its mail-sending tries, else None; counts this try."""
    who = client_key(request.remote_addr)
    wait = limit("mail").retry_after(who)
    if wait:
        g.retry_after = wait
        return error_page(429)
    limit("mail").fail(who)
    return None


@bp.route("/user/register", methods=["GET", "POST"])
def register():
    ctx = get_context()
    if not ctx.settings.registration:
        abort(404)
    if ctx.user:
        return redirect(url_for("publisher.dashboard"))
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("name", "fullname", "email", "password", "password2")}
        limited = _limited()
        if limited is not None:
            return limited
        try:
            registration.register(ctx, values, _secret(), _link("accounts.verify"))
            return render_template("account_message.html", title=_("Check your e-mail"), message=_(
                "We sent a link to %(email)s. Open it to verify your e-mail; then you can log in.", email=values["email"]))
        except ValidationError as exc:
            errors = exc.errors
        except MailError:
            errors = {"email": [_("The site could not send mail just now; nothing was saved. Try again later.")]}
    values.pop("password", None)
    values.pop("password2", None)
    return render_template("register.html", errors=errors, values=values), 400 if errors else 200


@bp.route("/user/verify/<token>")
def verify(token):
    ctx = get_context()
    try:
        row = registration.verify(ctx, _secret(), token)
    except ValidationError as exc:
        return _bad_link(exc)
    flash(_("Your e-mail is verified. Log in as %(name)s.", name=row["name"]))
    return redirect(url_for("publisher.login"))


@bp.route("/user/reset", methods=["GET", "POST"])
def reset_request():
    ctx = get_context()
    if request.method == "POST":
        limited = _limited()
        if limited is not None:
            return limited
        try:
            registration.request_reset(ctx, _secret(), request.form.get("login", ""), _link("accounts.reset"))
        except MailError:
            return render_template("account_message.html", title=_("Reset your password"), message=_(
                "The site could not send mail just now. Try again later.")), 503
        return render_template("account_message.html", title=_("Check your e-mail"), message=_(
            "If an account has that name or e-mail, a link to set a new password is on its way. It works for an hour."))
    return render_template("reset_request.html")


@bp.route("/user/reset/<token>", methods=["GET", "POST"])
def reset(token):
    ctx = get_context()
    errors = {}
    try:
        if request.method == "POST":
            row = registration.reset_password(ctx, _secret(), token, request.form.get("password", ""),
                                              request.form.get("password2", ""))
            flash(_("Your password is changed. Log in as %(name)s.", name=row["name"]))
            return redirect(url_for("publisher.login"))
        registration.reset_user(ctx, _secret(), token)
    except ValidationError as exc:
        if "token" in exc.errors:
            return _bad_link(exc)
        errors = exc.errors
    return render_template("reset_form.html", errors=errors), 400 if errors else 200


@bp.route("/user/email/<token>")
def confirm_email(token):
    ctx = get_context()
    try:
        row = registration.confirm_email_change(ctx, _secret(), token)
    except ValidationError as exc:
        return _bad_link(exc)
    flash(_("Your e-mail is now %(email)s.", email=row["email"]))
    return redirect(url_for("accounts.edit", name=row["name"]) if ctx.user else url_for("publisher.login"))


@bp.route("/user/edit/<name>", methods=["GET", "POST"])
@login_required
def edit(name):
    ctx = get_context()
    try:
        user = actions.call(ctx, "user_show", {"id": name})
    except NotFound:
        abort(404)
    if user["id"] != ctx.user["id"] and not ctx.sysadmin:
        abort(403)
    errors, values = {}, dict(user)
    if request.method == "POST" and request.form.get("close") and ctx.sysadmin and user["id"] != ctx.user["id"]:
        actions.call(ctx, "user_delete", {"id": user["id"]})
        flash(_("The account of %(name)s is closed.", name=user["name"]))
        return redirect(url_for("publisher.dashboard"))
    if request.method == "POST":
        data = {"id": user["id"], **{k: request.form[k] for k in ("fullname", "email", "about") if k in request.form}}
        if request.form.get("password"):
            if request.form.get("password") != request.form.get("password2"):
                errors = {"password2": [_("The passwords do not match")]}
            data.update(password=request.form["password"], old_password=request.form.get("old_password", ""))
        values.update(data)
        # Your own new address counts once you open the link mailed to it; a sysadmin's change counts at once.
        new_email = None
        if user["id"] == ctx.user["id"] and "email" in data and data["email"].strip() != (user.get("email") or ""):
            new_email = data.pop("email")
        if not errors:
            try:
                if new_email is not None:
                    registration.request_email_change(ctx, _secret(), user["id"], new_email,
                                                      _link("accounts.confirm_email"))
                actions.call(ctx, "user_update", data)
                flash(_("We sent a link to %(email)s; the new e-mail counts once you open it.", email=new_email)
                      if new_email is not None else _("Your changes are saved."))
                return redirect(url_for("accounts.edit", name=user["name"]))
            except ValidationError as exc:
                errors = exc.errors
            except MailError:
                errors = {"email": [_("The site could not send mail just now. Try again later.")]}
            except NotAuthorized:
                abort(403)
    return render_template("user_edit.html", user=user, values=values, errors=errors,
                           own=user["id"] == ctx.user["id"]), 400 if errors else 200
