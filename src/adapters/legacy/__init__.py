"""Legacy bridges: the httpx client of the legacy system (later issue) and the in-process fake."""
