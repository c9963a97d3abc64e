"""Conversation logic. Imports no transport library: events in, messages out."""
