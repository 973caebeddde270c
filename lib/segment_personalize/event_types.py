"""Which Segment events become interactions, and under which EVENT_TYPE: the SUPPORTED_EVENTS setting.

``Product Viewed=View,Order Completed=Purchase`` renames; a plain name keeps its Segment name; several
Segment events may share a type. ``ecommerce`` is a preset: every item-bearing event of Segment's
e-commerce v2 spec, under types that suit Personalize's ECOMMERCE domain (docs/mapping-contract.md has
the table and the reasons). Validation against Personalize's limits is MappingConfig's (rules.py).

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

ECOMMERCE_PRESET = "ecommerce"
RENAME = "="

# Segment e-commerce v2 events that name products, in the spec's order (browsing, ordering, wishlisting,
# sharing, reviewing); the others (Products Searched, Promotion *, Checkout Step *, Payment Info Entered,
# Coupon *) carry no product and are left out. Personalize's ECOMMERCE recommenders read View and Purchase;
# every interaction is a positive one to Personalize, so removals, refunds and cancellations get types of
# their own, which a recommender or solution can leave out, rather than count as interest.
ECOMMERCE_EVENT_TYPES: tuple[tuple[str, str], ...] = (
    ("Product List Viewed", "ListView"),
    ("Product List Filtered", "ListView"),
    ("Product Clicked", "View"),
    ("Product Viewed", "View"),
    ("Product Added", "AddToCart"),
    ("Product Removed", "Remove"),
    ("Cart Viewed", "Checkout"),
    ("Checkout Started", "Checkout"),
    ("Order Updated", "Checkout"),
    ("Order Completed", "Purchase"),
    ("Order Refunded", "Return"),
    ("Order Cancelled", "Return"),
    ("Product Added to Wishlist", "AddToWishlist"),
    ("Product Removed from Wishlist", "Remove"),
    ("Wishlist Product Added to Cart", "AddToCart"),
    ("Product Shared", "Share"),
    ("Cart Shared", "Share"),
    ("Product Reviewed", "Review"),
)


def parse_supported_events(text: str) -> tuple[tuple[str, str], ...]:
    """'Product Viewed=View, Order Completed' -> (('Product Viewed', 'View'), ('Order Completed', ...)).

    Entries are split on ',' and on the first '='; names are stripped; repeats of a name keep the first
    entry. ``ecommerce`` (alone or among other entries) stands for ECOMMERCE_EVENT_TYPES. Empty entries
    are skipped; a name or type left empty by a rename is kept empty, for MappingConfig to refuse.
    """
    pairs: dict[str, str] = {}
    for part in text.split(","):
        entry = part.strip()
        if not entry:
            continue
        if entry == ECOMMERCE_PRESET:
            for name, event_type in ECOMMERCE_EVENT_TYPES:
                pairs.setdefault(name, event_type)
            continue
        name, _, event_type = entry.partition(RENAME)
        name = name.strip()
        pairs.setdefault(name, event_type.strip() if RENAME in entry else name)
    return tuple(pairs.items())
