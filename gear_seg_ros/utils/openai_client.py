"""One client for every OpenAI-compatible `/chat/completions` endpoint (LLM reasoner, VLM describer, DAM's server).

httpx with a connect and a read timeout, retries with exponential back-off on refused connections and on
HTTP 429 / 502 / 503 / 504 (a busy server, a proxy or a server still starting), and errors that name the endpoint
URL, the status and the fix. An answer without `choices[0].message.content` (or with empty content) is an error,
never the answer text. A read timeout is not retried: the server may still be working on the request.
"""
from __future__ import annotations

import os
import time

from gear_seg_ros.errors import BackendUnavailableError, GearSegError

RETRY_STATUS = (429, 502, 503, 504)
MAX_RETRY_AFTER_S = 30.0


class EndpointError(GearSegError):
    """An OpenAI-compatible endpoint could not be reached or answered something unusable."""


class ChatClient:
    """POSTs chat bodies to `<base_url>/chat/completions`; thread-safe (one httpx connection pool).

    `what` is how messages name the endpoint, ending where the URL follows ("the LLM endpoint", "DAM's server at");
    `config_key` is the config section holding base_url / timeout_s ("reasoner.openai"), named in the fixes;
    `hint` replaces the default fix for an unreachable server; `error` is the exception class raised.
    """

    def __init__(self, base_url: str, *, what: str, config_key: str, timeout_s: float, connect_timeout_s: float = 5.0,
                 retries: int = 2, backoff_s: float = 0.5, api_key_env: str = "", concurrency: int = 1,
                 hint: str = "", error: type[GearSegError] = EndpointError) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.what, self.config_key, self.error = what, config_key, error
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.hint = hint or f"start the server or fix {config_key}.base_url"
        self.api_key_env = api_key_env
        try:
            import httpx
        except ImportError:
            raise BackendUnavailableError(f"{config_key} needs httpx (pip install httpx; pinned in "
                                          f"requirements/cpu.txt and gpu.txt)") from None
        self._httpx = httpx
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s), limits=limits)

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def post(self, body: dict) -> dict:
        """The endpoint's JSON answer (status 200) to `body`, after the retries."""
        httpx = self._httpx
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(self.url, json=body, headers=self._headers())
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout) and not last:
                    self._sleep(attempt)
                    continue
                raise self.error(
                    f"{self.what} {self.url} did not answer within {self.timeout_s:g} s"
                    f"{' after ' + str(attempt + 1) + ' attempts' if attempt else ''}; raise "
                    f"{self.config_key}.timeout_s or check that the server is not overloaded") from None
            except httpx.TransportError as exc:
                if not last and isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError)):
                    self._sleep(attempt)
                    continue
                raise self.error(f"cannot reach {self.what} {self.url} ({exc}; {attempt + 1} attempt(s)); "
                                 f"{self.hint}") from None
            if response.status_code in RETRY_STATUS and not last:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            break
        if response.status_code != 200:
            retried = f" (after {self.retries + 1} attempts)" if response.status_code in RETRY_STATUS else ""
            raise self.error(f"{self.what} {self.url} answered HTTP {response.status_code}{retried}: "
                             f"{response.text[:300]}{_status_fix(response.status_code, self)}")
        try:
            return response.json()
        except ValueError:
            raise self.error(f"{self.what} {self.url} answered HTTP 200 with no JSON: {response.text[:300]}; check "
                             f"that {self.config_key}.base_url is an OpenAI-compatible server") from None

    def chat(self, body: dict) -> str:
        """The text of `choices[0].message.content`; an answer without it (or empty) is an error."""
        payload = self.post(body)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self.error(f"{self.what} {self.url} answered without choices[0].message.content: "
                             f"{str(payload)[:300]}; check that {self.config_key}.base_url is an OpenAI-compatible "
                             f"chat server and {self.config_key}.model a model it serves") from None
        if not isinstance(content, str) or not content.strip():
            finish = _finish_reason(payload)
            raise self.error(f"{self.what} {self.url} answered with empty content (finish_reason {finish!r}); "
                             f"raise {self.config_key}.max_tokens if the answer was cut off, or check the model")
        return content

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff_s * 2 ** attempt
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
            except ValueError:
                pass  # an HTTP date: keep the back-off
        time.sleep(delay)

    def close(self) -> None:
        self._client.close()


def _finish_reason(payload: dict) -> object:
    try:
        return payload["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _status_fix(status: int, client: ChatClient) -> str:
    if status in (401, 403):
        return f"; set the API key in ${client.api_key_env}" if client.api_key_env else "; the server wants a key"
    if status == 404:
        return f"; {client.hint}"
    if status == 429:
        return "; the server is rate-limiting: lower concurrency or wait"
    return ""
