"""Ollama (a local LLM server) as an optional script writer: POST {url}/api/generate.

Wire format (Ollama's REST API): request `{"model", "prompt", "system", "stream": false,
"options": {"temperature", "seed", "num_predict"}}`, response `{"model", "response", "done", ...}`.
Nothing here decides what to do when Ollama is missing: callers fall back to the built-in writer.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

TIMEOUT_S = 60.0


class OllamaUnavailable(Exception):
    """Ollama did not answer usefully (not running, unknown model, bad reply)."""


@dataclass
class OllamaClient:
    url: str
    model: str
    timeout_s: float = TIMEOUT_S

    async def generate(self, prompt: str, *, system: str = "", temperature: float = 0.7, seed: int | None = None,
                       max_tokens: int = 400) -> str:
        options: dict = {"temperature": temperature, "num_predict": max_tokens}
        if seed is not None:
            options["seed"] = seed
        body = {"model": self.model, "prompt": prompt, "system": system, "stream": False, "options": options}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                resp = await client.post(f"{self.url}/api/generate", json=body)
        except httpx.HTTPError as exc:
            raise OllamaUnavailable(f"cannot reach Ollama at {self.url}: {exc}") from None
        if resp.status_code != 200:
            raise OllamaUnavailable(f"Ollama answered {resp.status_code}: {resp.text[:200]}")
        try:
            text = str(resp.json()["response"]).strip()
        except (ValueError, KeyError, TypeError):
            raise OllamaUnavailable("Ollama's reply has no 'response' field") from None
        if not text:
            raise OllamaUnavailable("Ollama returned an empty text")
        return text
