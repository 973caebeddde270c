"""Deterministic sample Segment data in the layout of Segment's S3 destination.

``segment-logs/<source-id>/<received-day-ms>/<received-hour-ms>.<uuid>.gz``: gzipped newline-delimited
JSON, one Segment call a line, plus the ``dummy-object.txt`` Segment writes when it checks bucket access.

The calls come from interleaved **sessions**: one visitor on one device (an ``anonymousId``) for a few
calls in a row. About half the calls carry no userId. A session is one of these scenarios:

- ``returning``: a known user on a device they logged in on before. Every call carries the userId and
  the device's anonymousId; a quarter of these sessions open with an ``identify``.
- ``anonymous``: a visitor who never identifies. Every call carries only an anonymousId.
- ``first_login``: a new user browses anonymously, then logs in with an ``identify`` carrying both ids;
  the rest of the session carries both.
- ``new_device``: the same for a known user on a new device (a new anonymousId for an old userId).
- ``track_login``: anonymous browsing, then a ``Signed In`` track carrying both ids and no identify.
- ``alias_signup``: anonymous browsing, then the backend signs the visitor up: a server-side ``alias``
  (previousId = the anonymousId, userId; no anonymousId) and a server-side ``identify`` (anonymousId
  null, as Segment's server libraries send it). Only the alias links the session's anonymous calls.
- ``shared_device``: one anonymousId identifies as one user, then as another (a family computer).

Inside a session, calls follow Segment's e-commerce v2 spec: page calls (web) or screen calls (the iOS
app); Products Searched; Product List Viewed/Filtered and Cart Viewed, Checkout Started, Order
Completed with ``properties.products[]``; Product Viewed/Clicked/Added/Removed, Product Added to
Wishlist, Product Removed from Wishlist, Wishlist Product Added to Cart, Product Shared, Product
Reviewed, Cart Shared; server-side Order Updated/Refunded/Cancelled (userId only) for the user's last
order; a few tracks that name no product (Signed Out, Promotion Viewed, Coupon Entered). Products carry
``product_id`` and ``sku`` (some only one of them; Product Reviewed, per the spec, only product_id),
``name``, ``category``, ``brand``, ``price`` (a JSON number, some a string such as ``"19.99"``) and, in
carts and orders, ``quantity``. The cart is the session's: Cart Viewed, Checkout Started and Order
Completed show what was added; an order sometimes lists the same product twice.

``identify`` calls carry top-level ``traits``: ``email``, ``plan`` (string; a later identify may show an
upgrade), ``country`` (string), ``lifetime_value`` (a number that grows with the user's orders), for
some users ``interests`` (an array) and ``address`` (an object). A few are bad: ``lifetime_value`` as
``"n/a"``, ``plan`` as a nested object.

What real exports contain and the job must survive: numeric userIds (JSON numbers and numeric strings),
unsupported events, track calls with a missing or numeric sku, a float or empty userId, or a timestamp
with a space instead of ``T``; client offsets in ``originalTimestamp``; at-least-once duplicates (the
same line again, often in a later file); and a few truncated lines.

    python -m segment_personalize.sample_data --events 20000 --out build/sample/segment-logs
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

START = datetime(2019, 2, 18, tzinfo=UTC)
SOURCE_ID = "Hk2nTtR9kN"
DUMMY_OBJECT = "dummy-object.txt"

_COLOURS = ("ocean-blue", "white", "black", "red", "olive", "grey", "navy", "sand", "coral", "forest-green")
_THINGS = ("shirt", "sneakers", "hoodie", "jeans", "cap", "backpack", "jacket", "socks", "scarf", "boots")
_BRANDS = ("Northwind", "Fabrikam", "Contoso", "Tailspin", "Litware")
_PAGES = ("/", "/collections/all", "/collections/new", "/cart", "/search", "/about")
_SCREENS = ("Home", "Catalog", "Product Detail", "Cart", "Account")
_QUERIES = ("blue shirt", "sneakers", "warm jacket", "socks", "red cap", "boots sale")
_OTHER_TRACKS = ("Signed Out", "Promotion Viewed", "Coupon Entered", "Checkout Step Viewed")
_PLANS = ("free", "basic", "pro")
_COUNTRIES = ("US", "US", "US", "DE", "FR", "GB", "IN", "BR")
_INTERESTS = ("running", "hiking", "streetwear", "outdoor", "sale", "kids")
_WEB_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:65.0) Gecko/20100101 Firefox/65.0",
)
_IOS_AGENT = "Demo Store/4.2.0 (iPhone; iOS 12.1; Scale/3.00)"
_WEB_LIBRARY = {"name": "analytics.js", "version": "3.7.2"}
_IOS_LIBRARY = {"name": "analytics-ios", "version": "3.7.0"}
_SERVER_LIBRARY = {"name": "analytics-python", "version": "2.4.0"}

# Session scenarios and their weights; see the module docstring.
_SCENARIOS = (
    ("returning", 22),
    ("anonymous", 38),
    ("first_login", 12),
    ("new_device", 10),
    ("track_login", 9),
    ("alias_signup", 7),
    ("shared_device", 4),
)
# What a visitor does next while browsing. "view" is a page (web) or screen (app) call; "after_order" is
# a server-side Order Updated/Refunded/Cancelled of the user's last order (Order Completed without one).
# Tuned so the default sample (20000 calls) clears Personalize's training minimums with identified
# events alone, under the default SUPPORTED_EVENTS and under the ecommerce preset.
_STEPS = (
    ("view", 22),
    ("Products Searched", 5),
    ("Product List Viewed", 6),
    ("Product List Filtered", 2),
    ("Product Viewed", 12),
    ("Product Clicked", 14),
    ("Product Added", 11),
    ("Product Removed", 2),
    ("Product Added to Wishlist", 2),
    ("Product Removed from Wishlist", 1),
    ("Wishlist Product Added to Cart", 1),
    ("Product Shared", 1),
    ("Product Reviewed", 1),
    ("Cart Viewed", 4),
    ("Cart Shared", 1),
    ("Checkout Started", 3),
    ("Order Completed", 7),
    ("after_order", 2),
    ("other_track", 3),
)
_AFTER_ORDER = ("Order Updated", "Order Updated", "Order Refunded", "Order Cancelled")
# Single-product track events that may carry one of the faults real exports have.
_ODD_CANDIDATES = frozenset({"Product Clicked", "Product Added", "Product Viewed"})
# How many sessions run at once: their calls interleave in time, as real visitors' do.
_CONCURRENT_SESSIONS = 16


@dataclass
class _Device:
    anonymous_id: str
    app: bool  # the iOS app (screen calls) rather than the web shop (page calls)
    agent: str


@dataclass
class _User:
    user_id: str | int
    email: str
    utc_offset_minutes: int
    plan: str
    country: str
    interests: list[str] | None
    address: dict[str, str] | None
    lifetime_value: float = 0.0
    devices: list[_Device] = field(default_factory=list)
    last_order: dict[str, Any] | None = None


@dataclass
class _Session:
    device: _Device
    # (kind, the user logged in for that call or None): consumed in order, one call a time slot.
    steps: list[tuple[str, _User | None]]
    position: int = 0
    cart: list[dict[str, Any]] = field(default_factory=list)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(moment: datetime, digits: int = 3, offset_minutes: int = 0, zulu: str = "Z") -> str:
    local = moment + timedelta(minutes=offset_minutes) if offset_minutes else moment
    text = local.isoformat(timespec="seconds")[:19]  # isoformat: C speed, unlike strftime
    if digits:
        text += "." + f"{local.microsecond:06d}{local.microsecond % 7}00"[:digits]
    if offset_minutes == 0:
        return text + zulu
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


class _Generator:
    def __init__(self, n_events: int, seed: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.n_events = n_events
        self.span = timedelta(days=days)
        self.catalog = [
            {
                "product_id": f"pid-{index:04d}",
                "sku": f"{colour}-{thing}",
                "name": f"{colour}-{thing}".replace("-", " ").title(),
                "category": thing,
                "brand": _BRANDS[index % len(_BRANDS)],
                "price": round(9 + (index * 37 % 171) + (index % 4) * 0.25 - 0.01, 2),
            }
            for index, (colour, thing) in enumerate((c, t) for c in _COLOURS for t in _THINGS)
        ]
        n_users = max(40, n_events // 25)
        self.users = [self._user(i) for i in range(n_users)]
        # Users who signed up before the sample starts, each with the device they used.
        self.known = self.users[: n_users * 2 // 5]
        for user in self.known:
            user.devices.append(self._device())
        self.next_new = len(self.known)
        self.scenarios, weights = zip(*_SCENARIOS, strict=True)
        self.scenario_weights = list(accumulate(weights))
        self.step_kinds, weights = zip(*_STEPS, strict=True)
        self.step_weights = list(accumulate(weights))
        self.sessions: list[_Session] = []

    def _user(self, index: int) -> _User:
        rng = self.rng
        # Analytics libraries send whatever the app gives them: many apps use numeric ids.
        numeric = 2941404340 + index * 7919
        user_id: str | int = (
            numeric if index % 5 == 0 else (str(numeric) if index % 5 == 1 else f"user-{index:05d}")
        )
        country = rng.choice(_COUNTRIES)
        return _User(
            user_id=user_id,
            email=f"customer{index}@example.org",
            utc_offset_minutes=rng.choice((0, 0, -300, -480, 60, 330)),
            plan=rng.choice(_PLANS[:2]),
            country=country,
            interests=rng.sample(_INTERESTS, rng.randrange(1, 4)) if rng.random() < 0.6 else None,
            address={"city": "Springfield", "country": country} if rng.random() < 0.2 else None,
        )

    def _device(self) -> _Device:
        rng = self.rng
        app = rng.random() < 0.25
        return _Device(_uuid(rng), app, _IOS_AGENT if app else rng.choice(_WEB_AGENTS))

    def _new_user(self) -> _User:
        """A user not seen yet, or a known one when every user has been seen."""
        if self.next_new < len(self.users):
            self.next_new += 1
            return self.users[self.next_new - 1]
        return self.rng.choice(self.known)

    def _browse(self, count: int, user: _User | None) -> list[tuple[str, _User | None]]:
        kinds = self.rng.choices(self.step_kinds, cum_weights=self.step_weights, k=count)
        return [(kind, user) for kind in kinds]

    def _session(self) -> _Session:
        rng = self.rng
        scenario = rng.choices(self.scenarios, cum_weights=self.scenario_weights)[0]
        before = rng.randrange(1, 9)  # anonymous calls before a login
        after = rng.randrange(1, 8)  # calls after it
        if scenario == "returning":
            user = rng.choice(self.known)
            opening = [("identify", user)] if rng.random() < 0.25 else []
            steps = opening + self._browse(rng.randrange(2, 10), user)
            return _Session(rng.choice(user.devices), steps)
        device = self._device()
        if scenario == "anonymous":
            return _Session(device, self._browse(rng.randrange(1, 8), None))
        if scenario == "shared_device":
            first, second = self._new_user(), rng.choice(self.known)
            while second is first:  # only once every user has been seen
                second = rng.choice(self.known)
            steps = [*self._browse(before, None), ("identify", first), *self._browse(after, first)]
            steps += [("identify", second), *self._browse(rng.randrange(1, 5), second)]
            return _Session(device, steps)
        user = rng.choice(self.known) if scenario == "new_device" else self._new_user()
        login = {"track_login": "signin", "alias_signup": "alias"}.get(scenario, "identify")
        steps = [*self._browse(before, None), (login, user)]
        if scenario == "alias_signup":
            return _Session(device, [*steps, ("server_identify", user)])
        return _Session(device, steps + self._browse(after, user))

    def _sign_in(self, user: _User, device: _Device) -> None:
        """From now on the user is known, with this device among theirs."""
        if not user.devices:
            self.known.append(user)
        if device not in user.devices:
            user.devices.append(device)

    def _base(self, device: _Device | None, user: _User | None, when: datetime, call_type: str) -> dict:
        """A call's common fields; ``device`` None: a server-side call (no anonymousId)."""
        rng = self.rng
        sent = when + timedelta(milliseconds=rng.randrange(5, 900))
        received = sent + timedelta(milliseconds=rng.randrange(20, 400))
        call: dict[str, Any]
        if device is None:
            call = {
                "anonymousId": None,
                "channel": "server",
                "context": {"library": _SERVER_LIBRARY},
                "messageId": _uuid(rng),
                "originalTimestamp": _iso(when, 6, zulu="+00:00"),
            }
        else:
            context: dict[str, Any] = {
                "ip": f"203.0.113.{rng.randrange(1, 255)}",
                "library": _IOS_LIBRARY if device.app else _WEB_LIBRARY,
                "locale": "en-US",
                "userAgent": device.agent,
            }
            if not device.app:
                path = rng.choice(_PAGES)
                context["page"] = {"path": path, "url": f"https://shop.example.com{path}"}
            if user is not None:
                context["traits"] = {"email": user.email}
            offset = user.utc_offset_minutes if user is not None else 0
            call = {
                "anonymousId": device.anonymous_id,
                "channel": "client",
                "context": context,
                "messageId": f"ajs-{rng.getrandbits(128):032x}",
                "originalTimestamp": _iso(when, rng.choice((3, 3, 3, 0, 6)), offset),
            }
        call["receivedAt"] = _iso(received)
        call["sentAt"] = _iso(sent)
        call["timestamp"] = _iso(when, rng.choice((3, 3, 3, 3, 0, 6, 9)))
        call["type"] = call_type
        if user is not None:
            call["userId"] = user.user_id
        call["version"] = 2
        call["_received"] = received
        return call

    def _product(self, quantity: bool = False, product: dict[str, Any] | None = None) -> dict[str, Any]:
        """One product's properties as a shop's tracking code sends them, faults included."""
        rng = self.rng
        entry = dict(product or rng.choice(self.catalog))
        roll = rng.random()
        if roll < 0.08:
            entry["price"] = f"{entry['price']:.2f}"  # a price sent as text
        elif roll < 0.11:
            del entry["sku"]
        elif roll < 0.14:
            del entry["product_id"]
        if quantity:
            entry["quantity"] = rng.randrange(1, 3)
        return entry

    def _identify(self, user: _User, device: _Device | None, when: datetime) -> dict:
        rng = self.rng
        if rng.random() < 0.2:  # an upgrade (or downgrade) since the last identify
            user.plan = rng.choice(_PLANS)
        traits: dict[str, Any] = {
            "email": user.email,
            "firstName": "Sam",
            "plan": user.plan,
            "country": user.country,
            "lifetime_value": round(user.lifetime_value, 2),
        }
        if user.interests is not None:
            traits["interests"] = user.interests
        if user.address is not None:
            traits["address"] = user.address
        roll = rng.random()
        if roll < 0.03:
            traits["lifetime_value"] = "n/a"
        elif roll < 0.05:
            traits["plan"] = {"name": user.plan, "billing": "monthly"}
        call = self._base(device, user, when, "identify")
        call["traits"] = traits
        return call

    def _order(self, session: _Session, user: _User | None) -> list[dict[str, Any]]:
        products = session.cart or [self._product(True) for _ in range(self.rng.randrange(1, 5))]
        if self.rng.random() < 0.1:
            products.append(dict(products[0]))  # the same product twice in one order
        session.cart = []
        return products

    def _track(self, session: _Session, kind: str, user: _User | None, when: datetime) -> dict:
        rng = self.rng
        device: _Device | None = session.device
        event = kind
        properties: dict[str, Any]
        if kind == "other_track":
            event = rng.choice(_OTHER_TRACKS)
            properties = {}
        elif kind == "Products Searched":
            properties = {"query": rng.choice(_QUERIES)}
        elif kind in ("Product List Viewed", "Product List Filtered"):
            products = [self._product() for _ in range(rng.randrange(2, 6))]
            for position, product in enumerate(products, 1):
                product["position"] = position
            properties = {"list_id": "list-" + products[0]["category"], "products": products}
            if kind == "Product List Filtered":
                properties["filters"] = [{"type": "colour", "value": rng.choice(_COLOURS)}]
                properties["sorts"] = [{"type": "price", "value": "desc"}]
        elif kind in ("Cart Viewed", "Cart Shared", "Checkout Started"):
            products = session.cart or [self._product(True)]
            properties = {"cart_id": f"cart-{session.device.anonymous_id[:8]}", "products": list(products)}
            if kind == "Cart Shared":
                properties["share_via"] = "email"
        elif kind == "Order Completed" or (kind == "after_order" and (user is None or not user.last_order)):
            event = "Order Completed"
            products = self._order(session, user)
            total = round(sum(float(p["price"]) * p.get("quantity", 1) for p in products), 2)
            properties = {
                "order_id": f"order-{rng.getrandbits(40):x}",
                "currency": "USD",
                "total": total,
                "products": products,
            }
            if user is not None:
                user.last_order = properties
                user.lifetime_value += total
        elif kind == "after_order":
            assert user is not None and user.last_order is not None
            event = rng.choice(_AFTER_ORDER)
            device = None  # the order system reports these, server-side
            properties = dict(user.last_order)
            if event == "Order Updated":
                properties["products"] = [*properties["products"], self._product(True)]
            user.last_order = None
        elif kind == "signin":
            event = "Signed In"
            properties = {"method": "password"}
        else:
            product = self._product(
                kind in ("Product Added", "Product Removed", "Wishlist Product Added to Cart")
            )
            if kind == "Product Reviewed":
                product.pop("sku", None)  # the spec's Product Reviewed names the product by product_id only
                product.update(review_id=f"r-{rng.getrandbits(32):x}", rating=rng.randrange(1, 6))
            elif kind == "Product Shared":
                product["share_via"] = "whatsapp"
            elif kind in ("Product Added to Wishlist", "Product Removed from Wishlist"):
                product.update(wishlist_id="wl-1", wishlist_name="Favourites")
            if kind in ("Product Added", "Wishlist Product Added to Cart"):
                session.cart.append(product)
            elif kind == "Product Removed" and session.cart:
                session.cart.pop()
            properties = product
        call = self._base(device, user, when, "track")
        call["event"] = event
        call["properties"] = properties
        if kind in _ODD_CANDIDATES and user is not None and rng.random() < 0.06:
            self._oddity(call, user)
        return call

    def _oddity(self, call: dict, user: _User) -> None:
        oddity = self.rng.randrange(4)
        properties = call["properties"] = dict(call["properties"])
        if oddity == 0:
            properties.pop("sku", None)
        elif oddity == 1:
            call["userId"] = float(user.user_id) + 0.5 if isinstance(user.user_id, int) else ""
        elif oddity == 2:
            call["timestamp"] = call["timestamp"].replace("T", " ")
        else:
            properties["sku"] = 12.5

    def _call(self, when: datetime) -> dict:
        rng = self.rng
        while len(self.sessions) < _CONCURRENT_SESSIONS:
            self.sessions.append(self._session())
        index = rng.randrange(len(self.sessions))
        session = self.sessions[index]
        kind, user = session.steps[session.position]
        session.position += 1
        if session.position == len(session.steps):
            self.sessions[index] = self.sessions[-1]
            self.sessions.pop()
        device = session.device
        if kind == "view":
            if device.app:
                call = self._base(device, user, when, "screen")
                call["name"] = rng.choice(_SCREENS)
            else:
                call = self._base(device, user, when, "page")
                call["name"] = "Catalog"
                call["properties"] = {"path": call["context"]["page"]["path"]}
            return call
        if kind == "identify":
            assert user is not None
            self._sign_in(user, device)
            return self._identify(user, device, when)
        if kind == "server_identify":
            assert user is not None
            return self._identify(user, None, when)
        if kind == "alias":
            assert user is not None
            self._sign_in(user, device)
            call = self._base(None, None, when, "alias")
            del call["anonymousId"]
            call["previousId"] = device.anonymous_id
            call["userId"] = user.user_id
            return call
        if kind == "signin" and user is not None:
            self._sign_in(user, device)
        return self._track(session, kind, user, when)

    def lines(self) -> Iterator[tuple[datetime, str]]:
        """(receivedAt, line) in time order, duplicates and corrupt lines included."""
        rng = self.rng
        step = self.span / max(1, self.n_events)
        step_seconds = step.total_seconds()
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        for i in range(self.n_events):
            when = START + step * i + timedelta(seconds=rng.uniform(0, step_seconds))
            call = self._call(when)
            received = call.pop("_received")
            line = dumps(call)
            roll = rng.random()
            if roll < 0.002:
                yield received, line[: len(line) // 2]  # cut off mid-object, as a broken upload would
            elif roll < 0.012:
                yield received, line
                # At-least-once delivery: the same call again, usually in a later file.
                yield received + timedelta(hours=rng.randrange(0, 3)), line
            else:
                yield received, line


def generate_lines(n_events: int, seed: int = 7, days: int = 14) -> Iterator[str]:
    """The sample's lines, in order: deterministic for a given (n_events, seed, days)."""
    for _, line in _Generator(n_events, seed, days).lines():
        yield line


def _hour_ms(moment: datetime) -> int:
    return int(moment.replace(minute=0, second=0, microsecond=0).timestamp() * 1000)


def _day_ms(moment: datetime) -> int:
    return int(moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def write_segment_logs(out_dir: Path, n_events: int, seed: int = 7, days: int = 14) -> list[Path]:
    """Write the sample in Segment's S3 layout under ``out_dir`` (the 'segment-logs' folder)."""
    generator = _Generator(n_events, seed, days)
    by_hour: dict[int, list[str]] = {}
    for received, line in generator.lines():
        by_hour.setdefault(_hour_ms(received), []).append(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DUMMY_OBJECT).write_text("")
    written = []
    for hour in sorted(by_hour):
        moment = datetime.fromtimestamp(hour / 1000, UTC)
        folder = out_dir / SOURCE_ID / str(_day_ms(moment))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hour}.{_uuid(generator.rng)}.gz"
        # mtime=0 keeps the gzip bytes reproducible.
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(("\n".join(by_hour[hour]) + "\n").encode())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=20_000, help="Segment calls to generate (default 20000)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write (the segment-logs folder)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=14, help="days the events span (default 14)")
    args = parser.parse_args(argv)
    files = write_segment_logs(args.out, args.events, args.seed, args.days)
    print(f"wrote {args.events} Segment calls in {len(files)} files under {args.out}")


if __name__ == "__main__":
    main()
