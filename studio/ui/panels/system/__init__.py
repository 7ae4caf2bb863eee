"""The system area's panels: System (status, resources, jobs, backups) and API (keys, URL, docs)."""
