"""Pure audio/ML: specs in, audio arrays, files and numbers out. No Qt, no HTTP, no database."""
