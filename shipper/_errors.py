"""The one root exception, for the few programmer errors that may raise."""

from __future__ import annotations


class ShipperError(Exception):
    """Base of every exception shipper raises: only ever for a programmer error."""


class ConfigError(ShipperError):
    """A setting is unknown or has a value of the wrong kind."""
