"""Keys and settings for rate limits (Flask-Limiter)."""

import ipaddress

from flask import current_app, request


def configured(name: str):
    """A limit read from the configuration when the request is made, so tests
    and deployments can set it."""
    return lambda: current_app.config[name]


def client_key() -> str:
    """The client's address for rate limits; IPv6 counted per /64, since one
    household or phone holds a whole /64."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
