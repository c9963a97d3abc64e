"""Transports translate between a chat network and Naast's Inbound/Outbound types. Nothing else."""
