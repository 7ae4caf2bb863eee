"""Dialogs: settings, first-run credentials, API keys."""
