"""Naast: entry points and plumbing (config, CLI, transports, storage, crypto)."""
