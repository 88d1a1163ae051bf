"""Orders in GraphQL: `Order`, `orders`, placing and cancelling, `orderUpdated`. May import
`schema.catalog` (an item's product), `schema.core` and `apps`."""
