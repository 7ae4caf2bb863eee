"""`studio serve` cut off from the network, for the API fuzzing test (tests/server/test_api_fuzz.py).

    python -m tests.support.serve_offline

Sockets may connect to loopback addresses only and names other than localhost do not resolve, so
whatever a fuzzed request makes the studio fetch (a feed, a webhook, a connector) fails at once
instead of reaching the internet; the connectors' base URLs point at a closed local port besides.
The rate limits are raised so that the fuzzer is not answered 429 for most of its run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from studio.app import build_services, exit_now, serve_forever, setup_logging
from studio.config import RateLimit, Settings

CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens there
CONNECTOR_URLS = ("deezer_url", "apple_music_url", "lastfm_url", "youtube_url", "youtube_analytics_url",
                  "discord_url", "telegram_url", "google_auth_url", "google_token_url")


def _loopback(host) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def cut_off_network() -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(address) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise ConnectionRefusedError(f"offline test server: no connections to {address[0]}")

    def connect(self, address):
        refuse(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        refuse(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name != "localhost":
            try:
                ipaddress.ip_address(str(name).split("%")[0])
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, f"offline test server: {name} does not resolve") from None
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo


def main() -> None:
    cut_off_network()
    settings = Settings(port=0)
    for name in CONNECTOR_URLS:
        setattr(settings, name, CLOSED_PORT_URL)
    settings.ollama_url = None
    settings.rate_limits = {"default": RateLimit(requests=1_000_000, window_s=3600)}
    setup_logging(settings)
    services = build_services(settings)
    if not asyncio.run(serve_forever(services, "127.0.0.1", 0, allow_remote=False)):
        exit_now(0)


if __name__ == "__main__":
    main()
