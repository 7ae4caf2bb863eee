"""The system area's routes: health, status, configuration, jobs and backups (`status.py`),
login and API keys (`auth.py`), and the API's own documentation (`docs.py`)."""
