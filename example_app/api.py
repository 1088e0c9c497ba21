"""The shop's JSON API, whose clients carry their session in a header.

A script, a mobile app or another origin's single-page app often cannot
use cookies. The API is a second Flask app, mounted under :data:`API_PATH`
of the shop with werkzeug's ``DispatcherMiddleware`` (:func:`mount`), with
a session interface of its own on the same table and the same
``SECRET_KEY``: the ``id_header`` option, :data:`HEADER`. The signed
session id then travels in that request header and in the response header
of the same name, never in a cookie; a logout answers the header empty.
(One session interface serves one set of options, hence a second app.)

Its sessions are the shop's kind: ``user`` and ``cart``, the same users'
devices (``user_key``, ``max_sessions``), recorded in the shop's audit
trail. ``/api-demo`` (:mod:`example_app.views`) is a page whose script uses
it.

- ``GET /api/me``: who is logged in, and the cart.
- ``POST /api/login`` ``{"name": "alice"}``: log in (a new session id).
- ``POST /api/cart`` ``{"product": "tea"}``: put one of a product in the cart.
- ``POST /api/logout``: forget everything; the header is answered empty.

Each answers what ``/api/me`` does; an error is ``{"error": "..."}`` with
its status.
"""

from __future__ import annotations

import json
import typing as t

from flask import Blueprint, Flask, abort, render_template, request, session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_dynamodb_session import DynamoDBSession

from . import audit
from .views import MAX_NAME_LENGTH, PRODUCTS, cart_lines, server_session

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = ["API_PATH", "HEADER", "api_of", "create_api", "mount"]

#: Where the API is mounted in the shop.
API_PATH = "/api"
#: The request and response header that carries the signed session id.
HEADER = "X-Session-Id"
#: Where the shop keeps its API app, in ``app.extensions``.
EXTENSION = "example_app.api"

bp = Blueprint("api", __name__)
#: The shop's page whose script uses the API.
demo = Blueprint("demo", __name__)


def create_api(shop: Flask) -> Flask:
    """The API app: the shop's config, with the session id in :data:`HEADER`."""
    api = Flask(__name__, static_folder=None)
    api.config.from_mapping(shop.config)
    api.config["SESSION_DYNAMODB_ID_HEADER"] = HEADER
    DynamoDBSession(api)
    audit.connect(api, audit.trail_of(shop))
    api.register_blueprint(bp)
    return api


def mount(shop: Flask) -> Flask:
    """Serve :func:`create_api`'s app under :data:`API_PATH` of ``shop``,
    and the page that uses it at ``/api-demo``."""
    api = create_api(shop)
    shop.extensions[EXTENSION] = api
    shop.register_blueprint(demo)
    shop.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        shop.wsgi_app, {API_PATH: api}
    )
    return api


def api_of(shop: Flask) -> Flask:
    """The API app :func:`mount` gave ``shop``."""
    return t.cast(Flask, shop.extensions[EXTENSION])


@demo.get("/api-demo")
def page() -> str:
    """A page whose script logs in, fills a cart and logs out through the
    API, carrying the session in :data:`HEADER`: it is not the shop's cookie
    session."""
    return render_template(
        "api_demo.html",
        api=request.script_root + API_PATH,
        header=HEADER,
        products=PRODUCTS.values(),
        max_name_length=MAX_NAME_LENGTH,
    )


# -- the API app ---------------------------------------------------------------


@bp.after_app_request
def expose_header(response: Response) -> Response:
    """Let a script of another origin read the header (CORS), were it
    allowed to call; this page's script, of the same origin, needs nothing."""
    response.headers["Access-Control-Expose-Headers"] = HEADER
    return response


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """An HTTP error as JSON, with the headers it had (``Allow`` of a 405)."""
    response = error.get_response()
    response.data = json.dumps({"error": error.description}).encode()
    response.content_type = "application/json"
    return response


def body() -> dict[str, t.Any]:
    """The request's JSON object, or an empty one."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def answer() -> dict[str, t.Any]:
    """What the session holds: the user and the cart."""
    return {
        "user": session.get("user"),
        "cart": [
            {
                "product": line.product.id,
                "name": line.product.name,
                "quantity": line.quantity,
            }
            for line in cart_lines()
        ],
    }


@bp.get("/me")
def me() -> dict[str, t.Any]:
    """Who is logged in, and the cart."""
    return answer()


@bp.post("/login")
def login() -> dict[str, t.Any] | tuple[dict[str, t.Any], int]:
    """Log in with a name; the session moves to a new id, the cart stays."""
    name = body().get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME_LENGTH:
        return {"error": f"Enter a name of 1 to {MAX_NAME_LENGTH} characters."}, 400
    current = server_session()
    current.regenerate()
    current["user"] = name
    return answer()


@bp.post("/cart")
def add_to_cart() -> dict[str, t.Any]:
    """Put one of a product in the cart."""
    product = body().get("product")
    if not isinstance(product, str) or product not in PRODUCTS:
        abort(404, "No such product.")
    if "cart" not in session:
        session["cart"] = []
    session["cart"].append(product)
    return answer()


@bp.post("/logout")
def logout() -> dict[str, t.Any]:
    """Forget everything: the stored session is deleted, the header answered
    empty."""
    session.clear()
    return answer()
