"""CKAN's action exceptions; the web layer maps each to its `__type` and HTTP status."""


class ActionError(Exception):
    """Base of every error an action may raise on purpose."""

    status = 500
    type_name = "Internal Server Error"

    def __init__(self, message=""):
        super().__init__(message)
        self.message = message

    def error_dict(self):
        """The `error` object of CKAN's envelope."""
        return {"__type": self.type_name, "message": self.message}


class StorageFull(ActionError):
    """The server's disk refused a write (full, or over a size limit); nothing was changed."""

    status = 507
    type_name = "Insufficient Storage"


def is_write_failure(exc):
    """True when an error means our own disk is full or refuses writes (not that the input is bad)."""
    text = str(exc)
    return isinstance(exc, (OSError, StorageFull)) or any(w in text for w in (
        "No space left", "File too large", "Could not write file", "database or disk is full", "disk I/O error"))


class NotFound(ActionError):
    status = 404
    type_name = "Not Found Error"

    def error_dict(self):
        return {"__type": self.type_name, "message": f"Not found: {self.message}" if self.message else "Not found"}


class NotAuthorized(ActionError):
    status = 403
    type_name = "Authorization Error"

    def error_dict(self):
        msg = f"Access denied: {self.message}" if self.message else "Access denied"
        return {"__type": self.type_name, "message": msg}


class ValidationError(ActionError):
    """Field -> list of messages, or a plain message; HTTP 409."""

    status = 409
    type_name = "Validation Error"

    def __init__(self, errors):
        self.errors = errors if isinstance(errors, dict) else {"message": str(errors)}
        super().__init__(str(self.errors))

    def summary(self):
        """One line for a terminal: `field: message; field: message`."""
        return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in self.errors.items() if k != "__type")

    def error_dict(self):
        return {**self.errors, "__type": self.type_name}


class SearchQueryError(ActionError):
    status = 400
    type_name = "Search Query Error"

    def error_dict(self):
        return {"__type": self.type_name, "message": f"Search Query is invalid: {self.message}"}


class SearchError(ActionError):
    status = 409
    type_name = "Search Error"

    def error_dict(self):
        return {"__type": self.type_name, "message": f"Search error: {self.message}"}


class BadRequest(ActionError):
    """A request CKAN answers with 400 and a bare JSON string (unknown action, bad JSON)."""

    status = 400
    type_name = "Bad Request"
