"""Order events for live subscribers: "this order changed", published after commit."""

from apps.core import events

ORDER_UPDATED = "order-updated"


def order_updated_publish(*, order_id: int) -> None:
    """Tells every subscriber of the order, on every web process, that it changed."""
    events.publish(ORDER_UPDATED, order_id)
