"""Order events for live subscribers, published through the channel layer after commit."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

ORDER_UPDATED = "order.updated"


def order_group(order_id: int) -> str:
    """The channel-layer group of one order's subscribers."""
    return f"order-{order_id}"


def order_updated_publish(*, order_id: int) -> None:
    """Tells every subscriber of the order, on every web process, that it changed."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            order_group(order_id), {"type": ORDER_UPDATED, "order_id": order_id}
        )
