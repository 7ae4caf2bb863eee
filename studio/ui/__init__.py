"""PySide6 window, panels and widgets. Calls services; never the HTTP API, the DB or the engine directly."""
