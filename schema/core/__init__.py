"""The GraphQL machinery every domain shares: the typed context, the contract's errors,
permissions, scalars and global ids, pagination and connections, the request limits, the
planned executor, persisted queries and the reading of a request.

May import `apps` (the domain) and the libraries; never a domain package of `schema`
(`schema.users`, ...), `schema.schema`, the views or `backend`. Every use of a library's
internals goes through `schema.core.compat`.
"""
