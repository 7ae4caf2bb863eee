"""PySide6 window, panels and widgets. Calls services; never the HTTP API, the DB or the engine directly."""

import os

# pyqtgraph picks its Qt binding on import: PySide6, set here once before any widget imports it.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
