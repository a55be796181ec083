"""GET /console: the ops console, one static page that drives the lab through the admin API.

The page and its scripts are plain files in console/ (no build step, nothing from a CDN), served
without the admin token: they hold no data. Everything the page shows or changes comes from the
admin API, which it calls with the token the user typed in (kept in sessionStorage, never in a URL).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, send_from_directory

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="console", static_url_path="/static")

# Scripts and styles from this origin only, no inline code, no framing, and no form that posts anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@bp.get("")
def page() -> Response:
    """The console page; it asks for the admin token before it shows anything."""
    response = send_from_directory(bp.static_folder, "index.html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def protect(response: Response) -> Response:
    """Lock the page and its assets down: this origin's scripts only, never framed, never sniffed."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def favicon() -> Response:
    """The console's icon, also at /favicon.ico, where browsers and tools look for one without asking the page."""
    response = send_from_directory(bp.static_folder, "favicon.svg", mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "max-age=86400"
    return response


def init_app(app: Flask) -> None:
    """Serve the console at /console, and its icon at /favicon.ico."""
    app.register_blueprint(bp)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
