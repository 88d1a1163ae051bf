"""The catalog in GraphQL: `Product`, the cached `products` list and its admin mutations. May
import `schema.core` and `apps`."""
