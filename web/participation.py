"""Participation: data requests, comments with moderation, and the Atom feed of changed datasets."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog import actions, syndication
from catalog.errors import NotAuthorized, NotFound, ValidationError

from .context import get_context
from .errors import error_page

bp = Blueprint("participation", __name__)
PAGE = 20


@bp.route("/datarequest")
def datarequest_index():
    ctx = get_context()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    params = {"limit": PAGE, "offset": (page - 1) * PAGE}
    if request.args.get("status") in ("open", "answered", "published"):
        params["status"] = request.args["status"]
    if request.args.get("organization"):
        params["organization_id"] = request.args["organization"]
    result = actions.call(ctx, "datarequest_index", params)
    return render_template("datarequest_index.html", result=result, page=page, page_size=PAGE)


def _orgs(ctx):
    return actions.call(ctx, "organization_list", {"all_fields": True, "sort": "title asc"})


@bp.route("/datarequest/new", methods=["GET", "POST"])
def datarequest_new():
    ctx = get_context()
    errors = {}
    if request.method == "POST":
        try:
            req = actions.call(ctx, "datarequest_create", request.form.to_dict())
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(_("Thank you. Your request was sent to the organization."))
            return redirect(url_for("participation.datarequest_read", request_id=req["id"]))
    return render_template("datarequest_new.html", errors=errors, values=request.form, orgs=_orgs(ctx))


@bp.route("/datarequest/<request_id>", methods=["GET", "POST"])
def datarequest_read(request_id):
    ctx = get_context()
    errors = {}
    if request.method == "POST":
        try:
            actions.call(ctx, "datarequest_answer", {"id": request_id, **request.form.to_dict()})
        except NotFound:
            abort(404)
        except NotAuthorized:
            return error_page(403, _("Only the organization's editors and admins answer its data requests."))
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(_("Answer saved."))
            return redirect(url_for("participation.datarequest_read", request_id=request_id))
    try:
        req = actions.call(ctx, "datarequest_show", {"id": request_id})
    except NotFound:
        abort(404)
    answerable = [o for o in actions.call(ctx, "organization_list_for_user", {"permission": "create_dataset"})] \
        if ctx.user and not req["organization"] else []
    return render_template("datarequest_read.html", req=req, errors=errors, values=request.form,
                           answerable=answerable)


@bp.route("/dataset/<name>/comment", methods=["POST"])
def comment_new(name):
    ctx = get_context()
    try:
        c = actions.call(ctx, "comment_create", {"package_id": name, "body": request.form.get("body", ""),
                                                 "author_name": request.form.get("author_name", "")})
    except NotFound:
        abort(404)
    except ValidationError as exc:
        flash(_("The comment was not posted: %(why)s", why="; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()
                                                                    if isinstance(v, list))), "error")
        return redirect(url_for("pages.dataset_read", name=name) + "#comments")
    flash(_("Comment posted.") if c["state"] == "published" else _("Thank you. Your comment appears after moderation."))
    return redirect(url_for("pages.dataset_read", name=name) + "#comments")


@bp.route("/dataset/<name>/follow", methods=["POST"])
def dataset_follow(name):
    """Follow (follow=1) or stop following (follow=0) a dataset from its page; its changes reach the dashboard."""
    ctx = get_context()
    if not ctx.user:
        return redirect(url_for("publisher.login", next=url_for("pages.dataset_read", name=name)))
    action = "follow_dataset" if request.form.get("follow", "1") == "1" else "unfollow_dataset"
    try:
        actions.call(ctx, action, {"id": name})
    except (NotFound, NotAuthorized):
        abort(404)   # a dataset the caller may not read is not confirmed to exist
    except ValidationError:
        pass   # already following: the page shows it
    return redirect(url_for("pages.dataset_read", name=name))


@bp.route("/comment/<comment_id>/moderate", methods=["POST"])
def comment_moderate(comment_id):
    ctx = get_context()
    try:
        c = actions.call(ctx, "comment_moderate", {"id": comment_id, "state": request.form.get("state", "")})
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)
    except ValidationError:
        abort(400)
    pkg = actions.call(ctx, "package_show", {"id": c["package_id"]})
    return redirect(url_for("pages.dataset_read", name=pkg["name"]) + "#comments")


@bp.route("/feeds/dataset.atom")
def feed():
    ctx = get_context(allow_auth=False)   # a feed is public: the same for everyone
    result = actions.call(ctx, "package_search", {"rows": 50, "sort": "metadata_modified desc"})
    body = syndication.atom_feed(result, ctx.site_url, ctx.settings.site_title, f"{ctx.site_url}/feeds/dataset.atom")
    return Response(body, content_type="application/atom+xml; charset=utf-8")
