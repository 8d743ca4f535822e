"""Streaming: websocket ``/v0/stream/models`` with Hume's payload, response, error and warning shapes.

One JSON message in, one JSON message out. Audio payloads (base64 media, at most 5 s) get prosody (one prediction
per payload, over the payload plus up to ``stream_window_ms`` of earlier audio as context), the vocal bursts that
overlap the payload (found over the same window) and, when asked, language/ner on its transcript; raw text (at
most 10,000 characters) gets language/ner. ``models`` carries over from the previous payload when a payload
leaves it out. ``reset_stream`` forgets the audio context.

Error codes (emolens' own; Hume never published a complete list): E0100 payload not JSON, E0101 payload breaks the
schema (or nests deeper than the json_depth limit), E0102 no models configured, E0103 no data, E0104 only
unsupported models, E0105 unknown model names, E0201 data not base64, E0202
text too long, E0203 media not decodable, E0204 audio too long, E0300 measurement failed. Warnings, nested in the
model's key as Hume did: W0105 no speech detected, W0106 model not supported (ignored), W0107 model needs audio.
The connection closes (code 1000) after ``idle_timeout_s`` without a message (Hume: one minute).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from emolens.engine.options import (
    BurstOptions,
    LanguageOptions,
    MediaOptions,
    NerOptions,
    ProsodyOptions,
    TextOptions,
    TranscriptionOptions,
    WindowOptions,
)
from emolens.errors import ConfigError, EmolensError, MediaError
from emolens.schema import (
    MAX_STREAM_AUDIO_MS,
    MAX_STREAM_TEXT_CHARS,
    StreamModelsConfig,
    loads_limited,
    parse_stream_payload,
)
from emolens.service.deps import API_KEY_HEADER, check_api_key
from emolens.service.errors import error_response

log = logging.getLogger("emolens.service")
router = APIRouter()

SAMPLE_RATE = 16_000
DEFAULT_WINDOW_MS = 5000
UNSUPPORTED = ("face", "facemesh")
_SILENCE_RMS = 1e-3  # about -60 dBFS: nothing a microphone would call speech


def _err(message: str, code: str, payload_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": message, "code": code}
    if payload_id is not None:
        out["payload_id"] = payload_id
    return out


def _warn(message: str, code: str) -> dict[str, Any]:
    return {"predictions": [], "warning": message, "code": code}


def _language_options(models: StreamModelsConfig) -> LanguageOptions | None:
    cfg = models.language
    if cfg is None:
        return None
    granularity = cfg.granularity or "word"
    return LanguageOptions(
        # the batch engine's widest text unit; passages are merged below
        granularity="utterance" if granularity == "passage" else granularity,
        sentiment=cfg.sentiment is not None,
        toxicity=cfg.toxicity is not None,
    )


def _merge_passage(preds: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """One prediction for the whole text: scores averaged over segments, weighted by their length."""
    if len(preds) <= 1:
        return preds
    weights = [max(1, p["position"]["end"] - p["position"]["begin"]) for p in preds]
    total = float(sum(weights))

    def avg(key: str) -> list[dict[str, Any]] | None:
        if preds[0].get(key) is None:
            return None
        acc: dict[str, float] = {}
        for p, w in zip(preds, weights):
            for s in p.get(key) or []:
                acc[s["name"]] = acc.get(s["name"], 0.0) + s["score"] * w / total
        return [{"name": k, "score": v} for k, v in acc.items()]

    out: dict[str, Any] = {"text": text, "position": {"begin": 0, "end": len(text)}, "emotions": avg("emotions")}
    for key in ("sentiment", "toxicity"):
        if preds[0].get(key) is not None:
            out[key] = avg(key)
    return [out]


def _model_preds(src: dict[str, Any], model: str) -> list[dict[str, Any]]:
    from emolens.hume import iter_predictions

    return [ref.prediction for ref in iter_predictions([src], model)]


def _stream_language(p: dict[str, Any]) -> dict[str, Any]:
    out = {"text": p.get("text") or "", "position": p["position"], "emotions": p["emotions"]}
    for key in ("sentiment", "toxicity"):
        if p.get(key) is not None:
            out[key] = p[key]
    return out


def _stream_ner(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("entity", "position", "entity_confidence", "support", "uri", "link_word", "emotions")
    return {k: p.get(k) for k in keys}


class StreamSession:
    """The state of one websocket connection: its id, last models, and recent audio for context."""

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self.job_id = str(uuid.uuid4())
        self.models: StreamModelsConfig | None = None
        self.context: Any = None  # np.ndarray of recent audio samples, 16 kHz mono
        self.limiter = limiter

    async def handle(self, message: str) -> dict[str, Any]:
        try:
            data = loads_limited(message, "payload")
        except json.JSONDecodeError as e:
            return _err(f"payload is not valid JSON: {e}", "E0100", None)
        except ConfigError as e:  # nested deeper than the json_depth limit
            return _err(str(e), "E0101", None)
        pid = data.get("payload_id") if isinstance(data, dict) and isinstance(data.get("payload_id"), str) else None
        try:
            payload = parse_stream_payload(data)
        except ConfigError as e:
            return _err(str(e), "E0101", pid)
        if payload.reset_stream:
            self.context = None
            if not payload.data:  # a bare reset is acknowledged, whatever the models
                reply0: dict[str, Any] = {"payload_id": pid} if pid is not None else {}
                if payload.job_details:
                    reply0["job_details"] = {"job_id": self.job_id}
                return reply0
        unknown = sorted((payload.models.model_extra or {}) if payload.models is not None else {})
        if unknown:
            return _err(
                f"unknown model(s) {', '.join(map(repr, unknown))}: stream prosody, language or ner",
                "E0105",
                pid,
            )
        models = payload.models if payload.models is not None and payload.models.model_fields_set else self.models
        if models is None:
            return _err(
                'no models configured: send "models", e.g. {"prosody": {}} for audio or {"language": {}} with raw_text',
                "E0102",
                pid,
            )
        self.models = models
        reply: dict[str, Any] = {}
        if pid is not None:
            reply["payload_id"] = pid
        if payload.job_details:
            reply["job_details"] = {"job_id": self.job_id}
        if payload.data is None or payload.data == "":
            return _err('payload has no "data": send base64 media, or text with "raw_text": true', "E0103", pid)
        wanted = [m for m in ("prosody", "burst", "language", "ner") if getattr(models, m) is not None]
        ignored = [m for m in UNSUPPORTED if getattr(models, m) is not None]
        if not wanted:
            return _err(
                f"emolens does not measure {', '.join(ignored) or 'these models'}; "
                "stream prosody, burst, language or ner",
                "E0104",
                pid,
            )
        for m in ignored:
            reply[m] = _warn(f"{m} is not supported by emolens and was ignored", "W0106")
        try:
            if payload.raw_text:
                reply.update(await self._text(payload.data, models))
            else:
                reply.update(await self._audio(payload.data, models, payload.stream_window_ms))
        except _PayloadError as e:
            return _err(str(e), e.code, pid)
        except EmolensError as e:
            return _err(str(e), "E0300", pid)
        return reply

    async def _run(self, fn, *args):
        # abandon_on_cancel: when the client disconnects, its coroutine is cancelled at once; work still waiting
        # for the limiter never starts, and work already running in the thread finishes and is dropped.
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter, abandon_on_cancel=True)

    async def _text(self, text: str, models: StreamModelsConfig) -> dict[str, Any]:
        if len(text) > MAX_STREAM_TEXT_CHARS:
            raise _PayloadError(
                f"text: {len(text):,} characters; at most {MAX_STREAM_TEXT_CHARS:,} characters per payload: split "
                "it into several payloads (limit stream_text_chars)",
                "E0202",
            )
        out: dict[str, Any] = {}
        for m in ("prosody", "burst"):
            if getattr(models, m) is not None:
                out[m] = _warn(f"{m} needs audio; it was skipped for raw text", "W0107")
        if models.language is None and models.ner is None:
            return out
        options = TextOptions(language=_language_options(models), ner=None if models.ner is None else NerOptions())
        src = await self._run(_measure_text, text, options)
        if models.language is not None:
            preds = [_stream_language(p) for p in _model_preds(src, "language")]
            if models.language.granularity == "passage":
                preds = _merge_passage(preds, text)
            out["language"] = {"predictions": preds}
        if models.ner is not None:
            out["ner"] = {"predictions": [_stream_ner(p) for p in _model_preds(src, "ner")]}
        return out

    async def _audio(self, data: str, models: StreamModelsConfig, window_ms: int | None) -> dict[str, Any]:
        import numpy as np

        try:
            blob = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _PayloadError('data is not valid base64; for text set "raw_text": true', "E0201") from None
        samples = await self._run(_decode, blob)
        cur_s = len(samples) / SAMPLE_RATE
        if cur_s * 1000 > MAX_STREAM_AUDIO_MS + 50:  # 50 ms slack for codec padding
            raise _PayloadError(
                f"audio: {cur_s * 1000:,.0f} ms; at most {MAX_STREAM_AUDIO_MS:,} ms per payload: send shorter chunks "
                "(limit stream_audio_ms)",
                "E0204",
            )
        window_s = (window_ms or DEFAULT_WINDOW_MS) / 1000
        ctx = self.context if self.context is not None else np.zeros(0, dtype=np.float32)
        keep = max(0, int((window_s - cur_s) * SAMPLE_RATE))
        ctx = ctx[len(ctx) - keep :] if keep else ctx[:0]
        combined = np.concatenate([ctx, samples]).astype(np.float32)
        self.context = combined[-int(max(window_s, cur_s) * SAMPLE_RATE) :]
        offset = len(ctx) / SAMPLE_RATE
        out: dict[str, Any] = {}
        silent = float(np.sqrt(np.mean(samples**2))) < _SILENCE_RMS if len(samples) else True
        prosody = None
        if models.prosody is not None:
            if silent:
                out["prosody"] = _warn("No speech detected.", "W0105")
            else:
                length = max(0.5, round(len(combined) / SAMPLE_RATE, 3))
                prosody = ProsodyOptions(window=WindowOptions(length, length))
        options = MediaOptions(
            prosody=prosody,
            burst=None if models.burst is None else BurstOptions(),
            language=_language_options(models),
            ner=None if models.ner is None else NerOptions(),
            transcription=TranscriptionOptions(asr="tiny.en"),
        )
        if not options.requested:
            return out
        if silent:
            for m in ("burst", "language", "ner"):
                if getattr(options, m) is not None:
                    out[m] = _warn("No speech detected.", "W0105")
            return out
        src = await self._run(_measure_audio, combined, options)
        if options.prosody is not None:
            preds = []
            for p in _model_preds(src, "prosody"):
                begin = max(0.0, p["time"]["begin"] - offset)
                end = min(cur_s, p["time"]["end"] - offset)
                preds.append(
                    {"time": {"begin": round(begin, 3), "end": round(max(begin, end), 3)}, "emotions": p["emotions"]}
                )
            out["prosody"] = {"predictions": preds[-1:]}
        if options.burst is not None:
            # Bursts overlapping this payload, in its time (context audio only helps find them).
            bursts = []
            for p in _model_preds(src, "burst"):
                if p["time"]["end"] - offset <= 0.05:
                    continue  # reported with the payload that carried it
                begin = max(0.0, p["time"]["begin"] - offset)
                end = min(cur_s, p["time"]["end"] - offset)
                bursts.append({**p, "time": {"begin": round(begin, 3), "end": round(max(begin, end), 3)}})
            out["burst"] = {"predictions": bursts}
        if options.language is not None:
            out["language"] = {"predictions": [_stream_language(p) for p in _model_preds(src, "language")]}
        if options.ner is not None:
            out["ner"] = {"predictions": [_stream_ner(p) for p in _model_preds(src, "ner")]}
        return out


class _PayloadError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _decode(blob: bytes) -> Any:
    from emolens.engine.audio import decode

    try:
        return decode(blob, max_seconds=60.0).samples
    except MediaError as e:
        raise _PayloadError(f"cannot decode the audio: {e.reason}", "E0203") from None


def _measure_text(text: str, options: TextOptions) -> dict[str, Any]:
    from emolens import hume
    from emolens.engine import measure_texts

    return hume.text_source(measure_texts([text], options)[0], 0)


def _measure_audio(samples: Any, options: MediaOptions) -> dict[str, Any]:
    """The decoded samples go straight into the engine (no file in between)."""
    from emolens import hume
    from emolens.engine import measure_audio

    return hume.media_source(measure_audio(samples, options, filename="payload.wav"))


@router.websocket("/v0/stream/models")
async def stream_models(ws: WebSocket) -> None:
    config = ws.app.state.config
    problem = check_api_key(config.api_key, ws.headers.get(API_KEY_HEADER) or ws.query_params.get("api_key"))
    if problem:
        if "websocket.http.response" in (ws.scope.get("extensions") or {}):
            await ws.send_denial_response(error_response(401, problem))
        else:
            await ws.close(code=1008, reason=problem[:120])
        return
    await ws.accept()
    stats = ws.app.state.stream_stats
    stats["sessions"] += 1
    session = StreamSession(ws.app.state.stream_limiter)
    inbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
    gone = asyncio.Event()

    async def read() -> None:
        # Reads on while a payload is measured, so that a client leaving cancels its work (see _run).
        try:
            while True:
                msg = await ws.receive()
                await inbox.put(msg)
                if msg["type"] == "websocket.disconnect":
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        gone.set()

    reader = asyncio.create_task(read())
    try:
        while True:
            try:
                msg = await asyncio.wait_for(inbox.get(), timeout=config.idle_timeout_s)
            except TimeoutError:
                await ws.close(code=1000, reason=f"closed after {config.idle_timeout_s:g} s without a message")
                return
            if msg["type"] == "websocket.disconnect":
                return
            text = msg.get("text")
            if text is None and msg.get("bytes") is not None:
                text = msg["bytes"].decode("utf-8", errors="replace")
            stats["payloads"] += 1
            work = asyncio.create_task(session.handle(text or ""))
            left = asyncio.create_task(gone.wait())
            await asyncio.wait({work, left}, return_when=asyncio.FIRST_COMPLETED)
            left.cancel()
            if not work.done():  # the client went away mid-payload: stop its work, answer nobody
                work.cancel()
                stats["cancelled"] += 1
                log.info("stream client disconnected; its payload was cancelled")
                return
            try:
                reply = work.result()
            except Exception as e:  # never drop the connection over one payload
                log.exception("stream payload failed")
                reply = _err(f"internal error ({type(e).__name__}); the service log has details", "E0300", None)
            await ws.send_text(json.dumps(reply))
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        reader.cancel()
