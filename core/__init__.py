"""Core: configuration, events, clock, logging, errors and the Session that wires services.

Imports no Qt: everything here is testable without a screen.
"""
