"""Persistence: SQLAlchemy tables, engine set-up, transactions and migrations."""
