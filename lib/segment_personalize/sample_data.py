"""Deterministic sample Segment data in the layout of Segment's S3 destination.

``segment-logs/<source-id>/<received-day-ms>/<received-hour-ms>.<uuid>.gz``: gzipped newline-delimited
JSON, one Segment call (track, identify, page) a line, plus the ``dummy-object.txt`` Segment writes when
it checks bucket access. The mix includes what real exports contain and the job must survive: numeric
userIds, anonymous-only calls, unsupported events, orders with products[], at-least-once duplicates,
client offsets in originalTimestamp, and a few truncated lines.

    python -m segment_personalize.sample_data --events 20000 --out build/sample/segment-logs
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2019, 2, 18, tzinfo=UTC)
SOURCE_ID = "Hk2nTtR9kN"
DUMMY_OBJECT = "dummy-object.txt"

_COLOURS = ("ocean-blue", "white", "black", "red", "olive", "grey", "navy", "sand", "coral", "forest-green")
_THINGS = ("shirt", "sneakers", "hoodie", "jeans", "cap", "backpack", "jacket", "socks", "scarf", "boots")
_PAGES = ("/", "/collections/all", "/collections/new", "/cart", "/search", "/about")
_UNSUPPORTED_TRACKS = ("Product Viewed", "Products Searched", "Checkout Started", "Cart Viewed", "Signed In")
_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:65.0) Gecko/20100101 Firefox/65.0",
)
# Weights of the kinds of call; tuned so a few thousand events clear Personalize's training minimums.
_KINDS = (
    ("page", 22),
    ("identify", 4),
    ("unsupported_track", 16),
    ("Product Clicked", 22),
    ("Product Added", 16),
    ("Order Completed", 8),
    ("anonymous_track", 6),
    ("odd_track", 6),
)


@dataclass(frozen=True)
class _User:
    user_id: str | int
    anonymous_id: str
    email: str
    utc_offset_minutes: int


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(moment: datetime, digits: int = 3, offset_minutes: int = 0) -> str:
    local = moment + timedelta(minutes=offset_minutes)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}{local.microsecond % 7}00"[:digits]
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


class _Generator:
    def __init__(self, n_events: int, seed: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.n_events = n_events
        self.span = timedelta(days=days)
        self.skus = [f"{c}-{t}" for c in _COLOURS for t in _THINGS]
        n_users = max(40, n_events // 25)
        self.users = [self._user(i) for i in range(n_users)]
        kinds, weights = zip(*_KINDS, strict=True)
        self.kinds, self.weights = kinds, weights

    def _user(self, index: int) -> _User:
        rng = self.rng
        # Analytics libraries send whatever the app gives them: many apps use numeric ids.
        numeric = 2941404340 + index * 7919
        user_id: str | int = (
            numeric if index % 5 == 0 else (str(numeric) if index % 5 == 1 else f"user-{index:05d}")
        )
        return _User(
            user_id=user_id,
            anonymous_id=_uuid(rng),
            email=f"customer{index}@example.org",
            utc_offset_minutes=rng.choice((0, 0, -300, -480, 60, 330)),
        )

    def _context(self, user: _User, path: str) -> dict:
        rng = self.rng
        return {
            "ip": f"203.0.113.{rng.randrange(1, 255)}",
            "library": {"name": "analytics.js", "version": "3.7.2"},
            "locale": "en-US",
            "page": {
                "path": path,
                "referrer": "https://www.google.com/",
                "title": "Segment Personalize Demo Store",
                "url": f"https://shop.example.com{path}",
            },
            "userAgent": rng.choice(_AGENTS),
            "traits": {"email": user.email},
        }

    def _base(self, user: _User, when: datetime, call_type: str) -> dict:
        rng = self.rng
        sent = when + timedelta(milliseconds=rng.randrange(5, 900))
        received = sent + timedelta(milliseconds=rng.randrange(20, 400))
        return {
            "anonymousId": user.anonymous_id,
            "channel": "client",
            "context": self._context(user, rng.choice(_PAGES)),
            "integrations": {},
            "messageId": f"ajs-{rng.getrandbits(128):032x}",
            "originalTimestamp": _iso(when, rng.choice((3, 3, 3, 0, 6)), user.utc_offset_minutes),
            "receivedAt": _iso(received),
            "sentAt": _iso(sent),
            "timestamp": _iso(when, rng.choice((3, 3, 3, 3, 0, 6, 9))),
            "type": call_type,
            "userId": user.user_id,
            "version": 2,
        }

    def _product(self, sku: str) -> dict:
        rng = self.rng
        return {
            "product_id": f"pid-{self.skus.index(sku):04d}",
            "sku": sku,
            "name": sku.replace("-", " ").title(),
            "price": round(rng.uniform(9, 180), 2),
            "quantity": rng.randrange(1, 3),
            "category": sku.rsplit("-", 1)[1],
        }

    def _call(self, when: datetime) -> dict:
        rng = self.rng
        user = rng.choice(self.users)
        kind = rng.choices(self.kinds, self.weights)[0]
        if kind == "page":
            call = self._base(user, when, "page")
            call["name"] = "Catalog"
            call["properties"] = {"path": call["context"]["page"]["path"]}
            return call
        if kind == "identify":
            call = self._base(user, when, "identify")
            call["traits"] = {"email": user.email, "firstName": "Sam", "plan": "basic"}
            return call
        call = self._base(user, when, "track")
        if kind == "Order Completed":
            skus = rng.sample(self.skus, rng.randrange(1, 5))
            if rng.random() < 0.1:
                skus.append(skus[0])  # the same product twice in one order
            products = [self._product(sku) for sku in skus]
            call["event"] = kind
            call["properties"] = {
                "order_id": f"order-{rng.getrandbits(40):x}",
                "currency": "USD",
                "total": round(sum(p["price"] * p["quantity"] for p in products), 2),
                "products": products,
            }
            return call
        call["event"] = (
            kind if kind in ("Product Clicked", "Product Added") else rng.choice(_UNSUPPORTED_TRACKS)
        )
        call["properties"] = self._product(rng.choice(self.skus))
        if kind == "anonymous_track":
            call["event"] = rng.choice(("Product Clicked", "Product Added"))
            del call["userId"]  # a visitor who never logged in: no USER_ID for Personalize
        elif kind == "odd_track":
            call["event"] = rng.choice(("Product Clicked", "Product Added"))
            oddity = rng.randrange(4)
            if oddity == 0:
                del call["properties"]["sku"]
            elif oddity == 1:
                call["userId"] = float(user.user_id) + 0.5 if isinstance(user.user_id, int) else ""
            elif oddity == 2:
                call["timestamp"] = call["timestamp"].replace("T", " ")
            else:
                call["properties"]["sku"] = 12.5
        return call

    def lines(self) -> Iterator[tuple[datetime, str]]:
        """(receivedAt, line) in time order, duplicates and corrupt lines included."""
        rng = self.rng
        step = self.span / max(1, self.n_events)
        for i in range(self.n_events):
            when = START + step * i + timedelta(seconds=rng.uniform(0, step.total_seconds()))
            call = self._call(when)
            line = json.dumps(call, separators=(",", ":"))
            received = datetime.fromisoformat(call["receivedAt"])
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
