"""One client for every OpenAI-compatible `/chat/completions` endpoint (LLM reasoner, VLM describer, DAM's server).

httpx with a connect and a read timeout, retries with exponential back-off on refused connections and on
HTTP 429 / 502 / 503 / 504 (a busy server, a proxy or a server still starting), and errors that name the endpoint
URL, the status and the fix. An answer without `choices[0].message.content` (or with empty content) is an error,
never the answer text. A read timeout is not retried: the server may still be working on the request.

`EndpointSettings` is the one settings model of such an endpoint: each use (describer.openai_vlm,
describer.dam_server, reasoner.openai) derives its section from it, setting only its own defaults, and builds its
`ChatClient` from that section.
"""
from __future__ import annotations

import os
import time
from typing import Annotated

from pydantic import Field

from gear_seg_ros.errors import BackendUnavailableError, GearSegError
from gear_seg_ros.utils.settings_model import Section

RETRY_STATUS = (429, 502, 503, 504)
MAX_RETRY_AFTER_S = 30.0


class EndpointError(GearSegError):
    """An OpenAI-compatible endpoint could not be reached or answered something unusable."""


# The fields, each declared once; a use re-annotates one with its own default (`timeout_s: TimeoutS = 120.0`).
BaseUrl = Annotated[str, Field(description="OpenAI-compatible server; requests go to <base_url>/chat/completions")]
ModelName = Annotated[str, Field(description="model name the server serves (sent with every request)")]
ApiKeyEnv = Annotated[str, Field(description="environment variable holding the API key, sent as a Bearer token "
                                             "when set; empty = no key")]
TimeoutS = Annotated[float, Field(gt=0.0, le=86400.0, description="per request (queueing at the server included), "
                                                                  "seconds")]
ConnectTimeoutS = Annotated[float, Field(gt=0.0, le=3600.0, description="seconds to open the TCP connection to the "
                                                                         "server")]
Retries = Annotated[int, Field(ge=0, le=100, description="HTTP retries of a request after a refused connection or "
                                                         "HTTP 429 / 502-504, with exponential back-off")]


class EndpointSettings(Section):
    """An OpenAI-compatible `/chat/completions` endpoint: where it is, and how long and how often to try it."""

    base_url: BaseUrl = "http://127.0.0.1:8080/v1"
    model: ModelName = ""
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY"
    timeout_s: TimeoutS = 60.0
    connect_timeout_s: ConnectTimeoutS = 5.0
    retries: Retries = 2


class ChatClient:
    """POSTs chat bodies to `<base_url>/chat/completions`; thread-safe (one httpx connection pool).

    Built from the endpoint's settings. `what` is how messages name the endpoint, ending where the URL follows ("the
    LLM endpoint", "DAM's server at"); `config_key` is the config section holding those settings ("reasoner.openai"),
    named in the fixes; `concurrency` the requests in flight (pooled connections); `hint` replaces the default fix for
    an unreachable server; `error` is the exception class raised.
    """

    def __init__(self, settings: EndpointSettings, *, what: str, config_key: str, concurrency: int = 1,
                 backoff_s: float = 0.5, hint: str = "", error: type[GearSegError] = EndpointError) -> None:
        base_url, timeout_s, retries = settings.base_url, settings.timeout_s, settings.retries
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.what, self.config_key, self.error = what, config_key, error
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.hint = hint or f"start the server or fix {config_key}.base_url"
        self.api_key_env = settings.api_key_env
        try:
            import httpx
        except ImportError:
            raise BackendUnavailableError(f"{config_key} needs httpx (pip install httpx; pinned in "
                                          f"requirements/cpu.txt and gpu.txt)") from None
        self._httpx = httpx
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=settings.connect_timeout_s), limits=limits)

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
