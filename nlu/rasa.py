"""Async NLU backends for the app: the local model, or an external Rasa server.

    nlu = make_nlu("local")                       # or make_nlu("rasa", "http://rasa:5005")
    await nlu.warm_up()                           # optional, at start-up
    result = await nlu.parse(text)                # -> nlu.NluResult
    await nlu.close()                             # at shutdown

`RasaNLU` calls ``POST {url}/model/parse`` with ``{"text": ...}`` and maps the answer into an
`NluResult`. Whatever Rasa says, three things are always computed locally:

* safety (`nlu.safety.assess`) - Rasa is never trusted to judge danger;
* the language, and which glossary term / procedure an explain question is about;
* the whole result, when Rasa times out, returns an HTTP error or malformed JSON (a warning is
  logged with the reason only, never the message text).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nlu
from nlu import Entity, IntentScore, NluResult
from nlu.intents import INTENTS

log = logging.getLogger(__name__)

BACKENDS = ("local", "rasa")


class LocalNLU:
    """The in-process model behind the same async interface as `RasaNLU`."""

    backend = "local"

    async def parse(self, text: str, lang: str | None = None) -> NluResult:
        # Local parse takes well under a few ms once warm, so it runs inline on the event loop.
        return nlu.parse(text, lang)

    async def warm_up(self) -> None:
        # Loading (and possibly training) takes seconds: keep it off the event loop.
        await asyncio.to_thread(nlu.warm_up)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> LocalNLU:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class RasaError(Exception):
    """Rasa's answer could not be used (the caller falls back to the local parse)."""


class RasaNLU:
    """Client for a Rasa server's HTTP API, falling back to the local parse on any failure."""

    backend = "rasa"

    def __init__(self, url: str, timeout: float = 1.0, session: Any = None) -> None:
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError("RasaNLU needs an http(s) URL, e.g. http://localhost:5005")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self._session = session  # aiohttp.ClientSession or None
        self._own_session = session is None
        self.fallbacks = 0  # how often the local parse had to answer (for health checks)

    async def _get_session(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def _fetch(self, text: str) -> dict[str, Any]:
        import aiohttp

        session = await self._get_session()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with session.post(f"{self.url}/model/parse", json={"text": text}, timeout=timeout) as resp:
            if resp.status != 200:
                raise RasaError(f"HTTP {resp.status}")
            try:
                data = await resp.json(content_type=None)
            except ValueError as exc:
                raise RasaError("response is not JSON") from exc
        if not isinstance(data, dict):
            raise RasaError("response is not a JSON object")
        return data

    async def parse(self, text: str, lang: str | None = None) -> NluResult:
        if not isinstance(text, str):
            raise TypeError(f"parse() needs str, not {type(text).__name__}")
        if not text.strip():
            return nlu.parse(text, lang)  # nothing for Rasa to understand
        try:
            data = await asyncio.wait_for(self._fetch(text), timeout=self.timeout + 0.5)
            return from_rasa(text, data, lang)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.fallbacks += 1
            reason = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            # The reason only: exception texts of aiohttp never contain the posted body.
            log.warning("Rasa NLU unavailable (%s); using the local NLU", reason)
            result = nlu.parse(text, lang)
            return _with_source(result, "local-fallback")

    async def warm_up(self) -> None:
        # The local model is the fallback and safety always runs locally: load it too.
        await asyncio.to_thread(nlu.warm_up)

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> RasaNLU:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _with_source(result: NluResult, source: str) -> NluResult:
    from dataclasses import replace

    return replace(result, source=source)


def _confidence(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 0.0
    if value != value:  # NaN
        return 0.0
    return max(0.0, min(1.0, value))


def _map_ranking(data: dict[str, Any]) -> list[IntentScore]:
    intent = data.get("intent")
    if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
        raise RasaError("response has no intent")
    scores: dict[str, float] = {}
    raw_ranking = data.get("intent_ranking")
    items = raw_ranking if isinstance(raw_ranking, list) else []
    for item in [intent, *items]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = item["name"] if item["name"] in INTENTS else nlu.DEFAULT_INTENT  # unknown -> relay
        scores[name] = max(scores.get(name, 0.0), _confidence(item.get("confidence")))
    top = intent["name"] if intent["name"] in INTENTS else nlu.DEFAULT_INTENT
    ranking = sorted((IntentScore(n, c) for n, c in scores.items()), key=lambda s: -s.confidence)
    # Rasa's top intent stays on top even if its ranking disagrees with itself.
    ranking.sort(key=lambda s: s.name != top)
    return ranking


def _map_entities(text: str, data: dict[str, Any]) -> tuple[Entity, ...]:
    raw = data.get("entities")
    if not isinstance(raw, list):
        return ()
    glossary = nlu._glossary()
    out: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("entity") != nlu.JARGON_ENTITY:
            continue
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            continue
        value = item.get("value")
        value = value if isinstance(value, str) and value.strip() else text[start:end]
        # jargon_term entities must be glossary terms: resolve to the canonical term, else drop.
        match = glossary.lookup(value) if glossary is not None else None
        if match is None and glossary is not None:
            match = glossary.lookup(text[start:end])
        if match is None:
            continue
        term = glossary.get(match.term_id)
        conf = item.get("confidence_entity", item.get("confidence", 1.0))
        out.append(
            Entity(
                nlu.JARGON_ENTITY,
                term.term if term is not None else match.value,
                start,
                end,
                _confidence(conf),
                str(item.get("extractor") or "rasa"),
                match.term_id,
            )
        )
    out.sort(key=lambda e: e.start)
    return tuple(out)


def from_rasa(text: str, data: dict[str, Any], lang: str | None = None) -> NluResult:
    """Map a Rasa ``/model/parse`` answer for `text` into an NluResult (safety: local)."""
    ranking = _map_ranking(data)
    entities = _map_entities(text, data)
    return nlu.assemble(text, lang, ranking, entities, source="rasa", rule="rasa")


def make_nlu(backend: str = "local", rasa_url: str | None = None, *, timeout: float = 1.0) -> LocalNLU | RasaNLU:
    """The NLU the app should use: "local" (default) or "rasa" (needs `rasa_url`)."""
    backend = (backend or "local").strip().lower()
    if backend == "local":
        return LocalNLU()
    if backend == "rasa":
        if not rasa_url:
            raise ValueError("the rasa NLU backend needs a URL (e.g. http://localhost:5005)")
        return RasaNLU(rasa_url, timeout=timeout)
    raise ValueError(f"unknown NLU backend {backend!r}; choose one of {', '.join(BACKENDS)}")
