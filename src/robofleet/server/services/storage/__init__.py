"""The Storage tab: nested folders and the files in them, bytes in the blob store."""
