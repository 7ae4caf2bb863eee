"""Widgets shared by the window and the panels: jobs dock, player bar, status bar."""
