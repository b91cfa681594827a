"""Small, friendly error pages in the app's own style. No stack trace ever
reaches a person; the log keeps it."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .i18n import _l


class RuleError(Exception):
    """A rule of the product said no. The message is for the person; ``field``
    names the form field it belongs beside (None: above the form). Every area's
    rule errors derive from it, and ``app.forms.show_error`` shows any of them."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field

MESSAGES = {
    400: (_l("Something in that request was off"), _l("Please go back and try again.")),
    403: (_l("That is not yours to do"), _l("Only some members can do this. Ask a steward of the circle if you think you should.")),
    404: (_l("Nothing here"), _l("The page does not exist, or it is not shared with you.")),
    405: (_l("Nothing here"), _l("This address does not work that way.")),
    413: (_l("That was too much at once"), _l("What you sent is larger than we accept. Try something smaller.")),
    429: (_l("Let's slow down a little"), _l("There have been too many tries in a short time. Please wait a while and try again.")),
    500: (_l("Something went wrong on our side"), _l("It is not your fault. Please try again in a moment.")),
}


def _page(code: int, detail: str | None = None):
    title, text = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, str(_l("The form had expired or was sent from elsewhere. Please fill it in again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code not in MESSAGES:
            return error
        return _page(error.code)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        # A failed write leaves the session unusable; the error page itself
        # reads the signed-in person, so begin afresh.
        try:
            db.session.rollback()
        except Exception:  # the database may be what failed
            app.logger.exception("rollback after an error failed")
        return _page(500)
