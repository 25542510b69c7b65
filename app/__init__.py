"""Backprop Playground web service (FastAPI): sessions, REST API, SSE stream, SQLite."""
