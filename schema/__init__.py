"""The GraphQL layer: the schema, the HTTP view, the WebSocket view and GraphiQL on top;
one package per domain below them (`users` on `orders` on `catalog`, as their types nest);
`schema.core`, the machinery, beneath all. May import `apps`, never `backend`."""
