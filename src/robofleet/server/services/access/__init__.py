"""Who is calling and what they may do: authentication, principals, API keys, users, roles,
access folders, accounts, first start and the audit trail."""
