"""Any change to a product retires every cached product list once the change commits."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.catalog.models import Product
from apps.catalog.selectors import catalog_version_bump


@receiver(post_save, sender=Product, dispatch_uid="catalog.retire_cached_lists_on_save")
@receiver(post_delete, sender=Product, dispatch_uid="catalog.retire_cached_lists_on_delete")
def retire_cached_product_lists(sender, **kwargs) -> None:
    # On commit: a reader that cached the old rows before the commit did so under the version
    # this bump retires. Outside a transaction on_commit runs at once.
    # robust: an unreachable cache must not fail a write that has already committed.
    transaction.on_commit(catalog_version_bump, robust=True)
