"""The one paced GET the keyless trend connectors make, with transport failures turned into
`SourceError` reasons a person can read (timeouts, refused connections, HTTP 4xx/5xx, bad JSON);
`get_bytes` is the same for a binary body capped in size and limited to the hosts a caller allows.

Platform quirks that arrive inside a successful answer (Deezer's HTTP-200 errors) stay in the
connector that knows them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from studio.connectors.charts import USER_AGENT, Pacer, SourceError

TIMEOUT_S = 20.0


async def get(source: str, url: str, *, pacer: Pacer, timeout_s: float = TIMEOUT_S,
              params: dict | None = None) -> httpx.Response:
    """GET `url` after the pacer allows it; any answer other than 2xx/3xx raises SourceError."""
    await pacer.wait()
    host = urlsplit(url).netloc or url
    try:
        async with httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT},
                                     follow_redirects=True) as client:
            resp = await client.get(url, params=params)
    except httpx.TimeoutException:
        raise SourceError(source, f"{host} did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        # the class name only: an exception's text may carry the full URL
        raise SourceError(source, f"cannot reach {host} ({type(exc).__name__})") from None
    _check_status(source, host, resp)
    return resp


def _check_status(source: str, host: str, resp: httpx.Response) -> None:
    status = resp.status_code
    if status == 429:
        raise SourceError(source, "too many requests (HTTP 429)", status=status,
                          retry_after_s=_retry_after_s(resp.headers.get("Retry-After")))
    if status >= 500:
        raise SourceError(source, f"{host} had a server error (HTTP {status})", status=status)
    if status >= 400:
        # a wrong storefront, genre or feed URL: asking again will not help
        raise SourceError(source, f"{host} refused the request (HTTP {status})", status=status,
                          fatal=status in (400, 401, 403, 404, 410))


async def get_bytes(source: str, url: str, *, pacer: Pacer, max_bytes: int, allowed: Callable[[str], bool],
                    refusal: str | None = None, timeout_s: float = TIMEOUT_S, max_redirects: int = 3) -> bytes:
    """The body of `url`, read only while it stays within `max_bytes` and only from URLs `allowed`
    accepts (each redirect's target is checked too, so a redirect cannot lead elsewhere; the check
    runs off the loop, as it may resolve names). SourceError (fatal) for a refused URL (`refusal`
    says why) or an oversized body; the status errors of `get`."""
    for _hop in range(max_redirects + 1):
        host = urlsplit(url).netloc or url
        if not await asyncio.to_thread(allowed, url):
            why = refusal or f"is not one of {source}'s own hosts"
            raise SourceError(source, f"{host} {why}: not fetched", fatal=True)
        await pacer.wait()
        try:
            async with httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT},
                                         follow_redirects=False) as client:
                async with client.stream("GET", url) as resp:
                    if resp.is_redirect and resp.headers.get("Location"):
                        url = str(resp.url.join(resp.headers["Location"]))
                        continue
                    _check_status(source, host, resp)
                    declared = number(resp.headers.get("Content-Length"))
                    if declared is not None and declared > max_bytes:
                        raise SourceError(source, f"{host} sent {declared / 1e6:.1f} MB, more than the "
                                                  f"{max_bytes / 1e6:.1f} MB allowed", fatal=True)
                    body = bytearray()
                    async for chunk in resp.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise SourceError(source, f"{host} sent more than the {max_bytes / 1e6:.1f} MB allowed",
                                              fatal=True)
                    return bytes(body)
        except httpx.TimeoutException:
            raise SourceError(source, f"{host} did not answer within {timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(source, f"cannot reach {host} ({type(exc).__name__})") from None
    raise SourceError(source, f"more than {max_redirects} redirects", fatal=True)


def json_body(source: str, resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise SourceError(source, "the answer is not valid JSON", status=resp.status_code) from None


def number(value: Any) -> float | None:
    """A platform figure as a float, whether it came as a number or a string; None when unusable."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _retry_after_s(header: str | None) -> float | None:
    value = number(header)  # an HTTP date instead of seconds is rare; then the caller's own back-off applies
    return value if value is not None and value >= 0 else None
