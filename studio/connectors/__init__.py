"""httpx clients of outside platforms, one small interface each (none configured by default)."""
