"""Error pages: HTML in the visitor's language for pages, JSON for API paths."""
from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from .api import error_body, json_response

MESSAGES = {
    400: lambda: _("The request could not be understood."),
    403: lambda: _("You are not allowed to see this page."),
    404: lambda: _("We could not find that page. It may have moved, or the dataset may be private."),
    405: lambda: _("This address does not accept that kind of request."),
    413: lambda: _("The upload is too large."),
    429: lambda: _("Too many attempts. Please wait a few minutes and try again."),
    500: lambda: _("Something went wrong on our side. Please try again."),
}

# The API's `__type` for each status (CKAN's names where CKAN has one).
API_TYPES = {400: "Bad Request", 403: "Authorization Error", 404: "Not Found Error", 405: "Method Not Allowed",
             413: "Request Entity Too Large", 429: "Too Many Requests", 500: "Internal Server Error"}


def error_page(status, message=None):
    """The one error response: JSON under /api, otherwise a page with links onward."""
    text = message or MESSAGES.get(status, MESSAGES[500])()
    if request.path.startswith("/api/"):
        return json_response(error_body(None, {"__type": API_TYPES.get(status, "Error"), "message": text}), status)
    return render_template("error.html", status=status, message=text), status


def init_app(app):
    """Register the handlers for HTTP errors and expired CSRF tokens."""
    for status in MESSAGES:
        app.register_error_handler(status, lambda exc, status=status: error_page(status))
    app.register_error_handler(CSRFError, lambda exc: error_page(
        400, _("The form expired or did not come from this site. Please go back, reload the page and try again.")))
