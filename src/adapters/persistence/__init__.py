"""Persistence adapters: in-memory (tests, embedding) and SQL (PostgreSQL, SQLite)."""
