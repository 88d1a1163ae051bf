"""Codes of the catalog domain's validation errors (Django `ValidationError.code`)."""

import enum


class CatalogErrorCode(enum.StrEnum):
    SKU_TAKEN = "sku_taken"
