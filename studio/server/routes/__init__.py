"""Route modules, one per area (same names as studio/services and studio/ui/panels)."""
