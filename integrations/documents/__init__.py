"""Families' uploaded documents: what a file may be (content checks) and where it is kept."""
