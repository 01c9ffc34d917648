"""Pure domain rules: statuses, transitions, permissions and errors. No framework, no database."""
