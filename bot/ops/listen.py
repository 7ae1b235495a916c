"""The ``[ops] listen`` address: where the health and metrics server listens."""

from __future__ import annotations

from dataclasses import dataclass

EXAMPLE = "'127.0.0.1:9090'"


@dataclass(frozen=True)
class Listen:
    """A host (a name or an address; an IPv6 one without its brackets) and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: str) -> Listen:
    """``host:port`` (``[::1]:9090`` for IPv6); ValueError says what is wrong."""
    host, colon, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 2**16:
        raise ValueError(f"{value!r} is not a host:port to listen on (e.g. {EXAMPLE})")
    return Listen(host, int(port))
