"""The births wing: the newborn \"one thing\" (出生一件事) on the case kernel."""
