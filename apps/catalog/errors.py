"""The catalog's refusals: codes of its validation errors (Django `ValidationError.code`)."""

import enum


class CatalogErrorCode(enum.StrEnum):
    SKU_TAKEN = "sku_taken"
