"""The `platform-core` command line."""
