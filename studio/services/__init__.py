"""Business rules, one module (or package) per area. The GUI and the API both call these."""
