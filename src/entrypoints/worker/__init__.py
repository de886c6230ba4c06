"""SAQ worker (issue 4)."""
