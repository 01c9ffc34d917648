"""Fast tests of single modules: no server process, no database server."""
