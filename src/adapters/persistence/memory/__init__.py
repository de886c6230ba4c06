"""In-memory persistence: real transactional semantics (staging, optimistic versions, outbox)."""
