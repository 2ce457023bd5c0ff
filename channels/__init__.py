"""Channels: one module per channel (inbound parse + verify, outbound render + send).

No web framework inside: the hub (backend) mounts the routes and calls these functions.
"""
