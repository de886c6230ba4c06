"""The lifecycle: how contexts react to each other's events, and cross-context use cases.

Nothing imports this package; it imports every context. Reactions are named
`when_<event>_<do_this>` and are idempotent, because the outbox delivers at least once.
"""
