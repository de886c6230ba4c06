"""Litestar REST API (issue 4)."""
