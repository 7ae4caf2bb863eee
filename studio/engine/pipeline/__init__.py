"""Orchestration: spec -> compose -> render -> mix -> master -> analyse -> export."""
