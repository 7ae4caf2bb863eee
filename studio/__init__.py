"""Studio: a desktop music studio for creators, with a local HTTP API."""

__version__ = "0.1.0"
