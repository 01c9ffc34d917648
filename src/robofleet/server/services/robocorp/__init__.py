"""The Robocorp Control Room API subset that unmodified robocorp-workitems, robocorp-vault and
robocorp-storage call, served from Robofleet's own tasks, resources and storage
(docs/robocorp.md lists the endpoints and the mapping)."""
