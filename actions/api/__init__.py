"""Clients for the external services the actions talk to."""
