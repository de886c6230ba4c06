"""Entrypoints: the REST API, the SAQ worker, the command line and the composition root."""
