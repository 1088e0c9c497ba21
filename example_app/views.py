"""The shop's pages: a catalogue and cart, login and logout, the session,
and the devices the user is logged in on.

Everything the app keeps about a visitor is in :data:`flask.session`, which
this package stores in DynamoDB: ``user`` (the name given at login, the
package's ``user_key``), ``cart`` (a list of product ids), Flask's
``_flashes`` and ``_permanent``. The package itself records, beside the
session, the browser's User-Agent and address at login (``record_client``),
which the devices page shows with the user's recent session events
(:mod:`example_app.audit`).
"""

from __future__ import annotations

import dataclasses
import time
import typing as t
from collections import Counter
from datetime import datetime, timezone

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .audit import MAX_EVENTS, trail_of
from .devices import Device, ago

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from flask_dynamodb_session import (
        DynamoDBSessionInterface,
        ServerSideSession,
        SessionStore,
    )

bp = Blueprint("shop", __name__)

#: The longest user name the login form accepts.
MAX_NAME_LENGTH = 40


@dataclasses.dataclass(frozen=True)
class Product:
    """Something the shop sells."""

    #: The id kept in the cart.
    id: str
    #: What the customer sees.
    name: str
    #: Price in cents.
    price: int


#: The catalogue, by product id.
PRODUCTS = {
    product.id: product
    for product in (
        Product("tea", "Green tea, 100 g", 650),
        Product("mug", "Stoneware mug", 1200),
        Product("honey", "Heather honey, 250 g", 900),
    )
}


@dataclasses.dataclass(frozen=True)
class CartLine:
    """One product of the cart and how many of it."""

    product: Product
    quantity: int

    @property
    def total(self) -> int:
        """Price of the line, in cents."""
        return self.product.price * self.quantity


def server_session() -> ServerSideSession:
    """:data:`flask.session`, typed as what this package makes it."""
    return t.cast("ServerSideSession", session)


def session_store() -> SessionStore:
    """The current app's session table, for reads outside the session."""
    interface = t.cast("DynamoDBSessionInterface", current_app.session_interface)
    return interface.store


def cart_lines() -> list[CartLine]:
    """The cart's products in catalogue order, with quantities."""
    counts = Counter(session.get("cart", []))
    return [
        CartLine(product, counts[product.id])
        for product in PRODUCTS.values()
        if counts[product.id]
    ]


@bp.app_template_filter("money")
def format_money(cents: int) -> str:
    """``1250`` -> ``"12.50"``."""
    return f"{cents // 100}.{cents % 100:02d}"


@bp.app_template_filter("utc")
def format_utc(moment: int | datetime) -> str:
    """Unix epoch seconds or an aware datetime, as a UTC date and time."""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, tz=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("minute_utc")
def format_minute_utc(moment: datetime) -> str:
    """An aware datetime as a UTC date and time to the minute."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@bp.app_template_filter("ago")
def format_ago(moment: datetime) -> str:
    """How long ago a past moment was: ``"just now"``, ``"2 minutes ago"``."""
    return ago(moment, datetime.now(timezone.utc))


@bp.app_template_filter("from_now")
def format_from_now(moment: int | datetime) -> str:
    """How far a Unix time or an aware datetime is from now:
    ``"in 13 days, 23 hours"``, ``"3 s ago"``."""
    if isinstance(moment, datetime):
        moment = int(moment.timestamp())
    delta = int(moment - time.time())
    amount = abs(delta)
    days, rest = divmod(amount, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        text = f"{days} days, {hours} hours"
    elif hours:
        text = f"{hours} hours, {minutes} minutes"
    elif minutes:
        text = f"{minutes} minutes, {seconds} s"
    else:
        text = f"{seconds} s"
    return f"in {text}" if delta >= 0 else f"{text} ago"


@bp.get("/")
def index() -> str:
    """The catalogue and the cart."""
    lines = cart_lines()
    return render_template(
        "index.html",
        products=PRODUCTS.values(),
        lines=lines,
        total=sum(line.total for line in lines),
    )


@bp.post("/cart/<product_id>")
def add_to_cart(product_id: str) -> Response:
    """Put one of a product in the cart."""
    if product_id not in PRODUCTS:
        abort(404)
    if "cart" not in session:
        session["cart"] = []
    # Changed in place: no ``session.modified = True`` needed, the change is
    # found when the request ends and only then written, in one call.
    session["cart"].append(product_id)
    return redirect(url_for(".index"))


@bp.post("/cart/<product_id>/remove")
def remove_from_cart(product_id: str) -> Response:
    """Take one of a product out of the cart."""
    cart = session.get("cart", [])
    if product_id in cart:
        cart.remove(product_id)
    return redirect(url_for(".index"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | tuple[str, int] | Response:
    """Log in with a name; a real app would check a password here too."""
    if request.method == "GET":
        return render_template("login.html")
    name = request.form.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        error = f"Enter a name of 1 to {MAX_NAME_LENGTH} characters."
        return render_template("login.html", error=error), 400
    current = server_session()
    # A new id at login: an id planted in or stolen from the browser before
    # it logged in is worth nothing afterwards. The data (the cart) stays.
    current.regenerate()
    current["user"] = name
    current.permanent = request.form.get("remember") == "on"
    flash(f"Welcome, {name}!")
    return redirect(url_for(".index"))


@bp.post("/remember")
def remember() -> Response:
    """Turn "remember me" on or off for the logged-in user."""
    if "user" not in session:
        return redirect(url_for(".login"))
    session.permanent = request.form.get("remember") == "on"
    return redirect(url_for(".session_info"))


@bp.post("/logout")
def logout() -> Response:
    """Forget everything: the stored session is deleted, and the cookie."""
    session.clear()
    return redirect(url_for(".logged_out"))


@bp.get("/logged-out")
def logged_out() -> str:
    """Said after logout, without storing a session to say it."""
    return render_template("logged_out.html")


@bp.get("/session")
def session_info() -> str:
    """What the table holds for this session, read back from it."""
    current = server_session()
    store = session_store()
    record = None if current.new else store.items.load(current.sid)
    interface = t.cast("DynamoDBSessionInterface", current_app.session_interface)
    return render_template(
        "session.html",
        record=record,
        stored_key=None if record is None else store.key(current.sid),
        cookie_expires=interface.get_expiration_time(current_app, current),
        settings=store.settings,
    )


# -- the user's devices --------------------------------------------------------


@bp.get("/devices")
def devices() -> str | Response:
    """Every session of the logged-in user, this browser's marked."""
    user = session.get("user")
    if user is None:
        return redirect(url_for(".login"))
    sessions = session_store().sessions_of(user, current_sid=server_session().sid)
    return render_template(
        "devices.html",
        devices=[Device.of(s) for s in sessions],
        events=trail_of(current_app).events_of(user),
        max_events=MAX_EVENTS,
    )


@bp.post("/devices/logout")
def logout_device() -> Response:
    """Log out one device: delete the session whose handle the form posts.

    The store deletes it only if it is this user's, so a handle of someone
    else's session, posted by hand, deletes nothing.
    """
    user = session.get("user")
    if user is None:
        return redirect(url_for(".login"))
    handle = request.form.get("handle", "")
    store = session_store()
    if handle == store.key(server_session().sid):
        return logout()
    if handle and store.revoke(handle, user_id=user):
        flash("That device is logged out.")
    else:
        flash("That device is not logged in as you (any more).", "error")
    return redirect(url_for(".devices"))


@bp.post("/devices/logout-others")
def logout_other_devices() -> Response:
    """Log out every device of the user but this one."""
    user = session.get("user")
    if user is None:
        return redirect(url_for(".login"))
    count = session_store().revoke_user(user, keep_sid=server_session().sid)
    if count:
        devices = "device" if count == 1 else "devices"
        flash(f"Logged out {count} other {devices}.")
    else:
        flash("No other device was logged in.")
    return redirect(url_for(".devices"))


@bp.post("/devices/logout-everywhere")
def logout_everywhere() -> Response:
    """Log out every device of the user, this one included."""
    user = session.get("user")
    if user is None:
        return redirect(url_for(".login"))
    session_store().revoke_user(user)
    # Its item is gone already; this also deletes the cookie.
    session.clear()
    return redirect(url_for(".logged_out", everywhere=1))
