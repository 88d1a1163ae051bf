"""What several domain apps share: the kinds of domain error, sending an email once, the options
of email tasks, and the request id that ties log lines together.

Imports Django and the standard library only: never another app, `schema` or `backend`.
"""
