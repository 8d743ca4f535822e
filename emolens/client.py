"""A client for any Hume-compatible Expression Measurement API (emolens' own service, or another).

::

    from emolens.client import Client
    with Client("http://127.0.0.1:8000", api_key="...") as c:
        job_id = c.start_job(text=["What a day!"], config={"models": {"language": {"sentiment": {}}}})
        details = c.wait(job_id, progress=lambda f, msg: print(f"{f:.0%} {msg}"))
        preds = c.predictions(job_id)            # list[SourcePredictions]
        with c.stream() as s:                    # websocket /v0/stream/models
            reply = s.send_text("I love it", {"language": {}})

The transport is the one seam: pass ``transport=httpx.MockTransport(handler)`` in unit tests. Every failure is an
:class:`emolens.errors.APIError`: ``status`` is the HTTP status (0 when the service cannot be reached) and
``message`` the service's own explanation.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from emolens.errors import APIError
from emolens.schema import (
    JobDetails,
    JobRequest,
    SourcePredictions,
    StreamError,
    StreamResponse,
    parse_predictions,
)

__all__ = ["Client", "StreamSession", "FileInput"]

API_KEY_HEADER = "X-Hume-Api-Key"
#: A file to upload: a path, or (filename, bytes) / (filename, bytes, content_type).
FileInput = str | Path | tuple[str, bytes] | tuple[str, bytes, str]
Progress = Callable[[float, str], None]


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The explanation inside an error answer, whatever its style (emolens, FastAPI, Hume's gateway, plain)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return (text[:300] or response.reason_phrase or "error"), None
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"], body.get("code")
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail, None
        if isinstance(detail, list) and detail:
            return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail), None
        fault = body.get("fault")
        if isinstance(fault, dict) and fault.get("faultstring"):
            return str(fault["faultstring"]), (fault.get("detail") or {}).get("errorcode")
        if isinstance(body.get("error"), str):
            return body["error"], body.get("code")
    return json.dumps(body)[:300], None


def _config_dict(config: JobRequest | dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, JobRequest):
        return config.to_json_dict()
    return dict(config)


class Client:
    """Synchronous client of the batch API (httpx) plus a websocket streaming session."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        base_url = (base_url or "").strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise APIError(0, f"service URL {base_url!r} must start with http:// or https://")
        self.base_url = base_url
        self.api_key = api_key or None
        headers = {API_KEY_HEADER: self.api_key} if self.api_key else {}
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    # -- plumbing ----------------------------------------------------------------------------------------------
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, accept: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as e:
            raise APIError(0, f"timed out talking to {self.base_url}: {e or type(e).__name__}", "timeout") from None
        except httpx.TransportError as e:
            raise APIError(0, f"cannot reach {self.base_url}: {e or type(e).__name__}", "unreachable") from None
        if response.status_code >= 400 and response.status_code not in accept:
            message, code = _error_message(response)
            raise APIError(response.status_code, message, code)
        return response

    def _json(self, method: str, path: str, *, accept: tuple[int, ...] = (), **kwargs: Any) -> Any:
        response = self._request(method, path, accept=accept, **kwargs)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(
                response.status_code, f"{path} answered with something that is not JSON", "bad_response"
            ) from None

    # -- batch -------------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``GET /health`` (emolens services): ``{"status": "ok"|"degraded", ...}`` (a degraded service answers 503
        with the same body); raises APIError when the service is down or is not emolens."""
        return self._json("GET", "/health", accept=(503,))

    def start_job(
        self,
        *,
        files: Sequence[FileInput] = (),
        urls: Iterable[str] = (),
        text: Iterable[str] = (),
        config: JobRequest | dict[str, Any] | None = None,
        callback_url: str | None = None,
    ) -> str:
        """Start a batch job and return its id. Files go as multipart (``file`` parts + a ``json`` field)."""
        body = _config_dict(config)
        if urls:
            body["urls"] = [*body.get("urls", []), *urls]
        if text:
            body["text"] = [*body.get("text", []), *text]
        if callback_url:
            body["callback_url"] = callback_url
        if not files:
            data = self._json("POST", "/v0/batch/jobs", json=body)
        else:
            with ExitStack() as stack:
                parts: list[tuple[str, tuple[Any, ...]]] = []
                for f in files:
                    if isinstance(f, (str, Path)):
                        p = Path(f)
                        try:
                            parts.append(("file", (p.name, stack.enter_context(p.open("rb")))))
                        except OSError as e:
                            raise APIError(0, f"cannot read {p}: {e.strerror}", "bad_input") from None
                    else:
                        name, blob, *ctype = f
                        parts.append(("file", (name, io.BytesIO(blob), *ctype)))
                data = self._json("POST", "/v0/batch/jobs", files=parts, data={"json": json.dumps(body)})
        if not isinstance(data, dict) or "job_id" not in data:
            raise APIError(200, "the service did not answer with a job_id", "bad_response")
        return str(data["job_id"])

    def get_job(self, job_id: str) -> JobDetails:
        return JobDetails.model_validate(self.get_job_json(job_id))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (emolens extension ``POST /v0/batch/jobs/{id}/cancel``); its details."""
        return self._json("POST", f"/v0/batch/jobs/{job_id}/cancel")

    def get_job_json(self, job_id: str) -> dict[str, Any]:
        """Job details as the raw JSON dict (keeps emolens' ``progress`` extra easy to reach)."""
        return self._json("GET", f"/v0/batch/jobs/{job_id}")

    def list_jobs(
        self,
        *,
        limit: int = 50,
        status: Sequence[str] | str | None = None,
        when: str | None = None,
        timestamp_ms: int | None = None,
        sort_by: str = "created",
        direction: str = "desc",
    ) -> list[JobDetails]:
        """``GET /v0/batch/jobs`` with Hume's filters."""
        params: list[tuple[str, Any]] = [("limit", limit), ("sort_by", sort_by), ("direction", direction)]
        if status:
            params += [("status", s) for s in ([status] if isinstance(status, str) else status)]
        if when:
            params.append(("when", when))
        if timestamp_ms is not None:
            params.append(("timestamp_ms", timestamp_ms))
        data = self._json("GET", "/v0/batch/jobs", params=params)
        return [JobDetails.model_validate(d) for d in data]

    def wait(
        self, job_id: str, *, timeout: float | None = None, poll_s: float = 0.5, progress: Progress | None = None
    ) -> JobDetails:
        """Poll until the job is COMPLETED or FAILED and return its details (a FAILED job is returned, not raised).

        ``progress(fraction, message)`` is called on every poll. Raises APIError(code="timeout") after ``timeout``.
        """
        start = time.monotonic()
        while True:
            details = self.get_job(job_id)
            status = details.state.status
            if progress is not None:
                note = details.progress.message if details.progress else ""
                progress(details.fraction, f"{status}: {note}" if note else status)
            if details.done:
                return details
            if timeout is not None and time.monotonic() - start > timeout:
                raise APIError(0, f"job {job_id} is still {status} after {timeout:g} s", "timeout")
            time.sleep(poll_s)

    def wait_all(
        self,
        job_ids: Sequence[str],
        *,
        timeout: float | None = None,
        poll_s: float = 0.5,
        progress: Callable[[str, JobDetails], None] | None = None,
    ) -> dict[str, JobDetails]:
        """Poll several jobs until each is COMPLETED or FAILED; returns their details by job id.

        ``progress(job_id, details)`` is called for every poll of a job still followed. After ``timeout`` seconds
        the jobs that ended are returned and the others are left out (no error: the caller says what to do).
        """
        start = time.monotonic()
        final: dict[str, JobDetails] = {}
        while True:
            for jid in job_ids:
                if jid in final:
                    continue
                details = self.get_job(jid)
                if progress is not None:
                    progress(jid, details)
                if details.done:
                    final[jid] = details
            if len(final) == len(set(job_ids)) or (timeout is not None and time.monotonic() - start > timeout):
                return final
            time.sleep(poll_s)

    def predictions_json(self, job_id: str) -> list[dict[str, Any]]:
        """The predictions payload as JSON-ready data (exactly what the service sent)."""
        data = self._json("GET", f"/v0/batch/jobs/{job_id}/predictions")
        if not isinstance(data, list):
            raise APIError(200, "predictions are not a JSON list", "bad_response")
        return data

    def predictions(self, job_id: str) -> list[SourcePredictions]:
        """The predictions parsed into the schema (unknown fields kept)."""
        from pydantic import ValidationError

        data = self.predictions_json(job_id)
        try:
            return parse_predictions(data)
        except ValidationError as e:
            raise APIError(
                200, f"predictions do not follow Hume's format: {e.errors()[0].get('msg')}", "bad_response"
            ) from None

    def artifacts(self, job_id: str) -> bytes:
        """The artifacts zip (CSV files, one per model)."""
        return self._request("GET", f"/v0/batch/jobs/{job_id}/artifacts").content

    # -- streaming ---------------------------------------------------------------------------------------------
    def stream_url(self) -> str:
        return "ws" + self.base_url[len("http") :] + "/v0/stream/models"

    def stream(self, *, open_timeout: float = 10.0, reply_timeout: float = 120.0) -> StreamSession:
        """Open a websocket session on ``/v0/stream/models`` (use it as a context manager)."""
        return StreamSession(self.stream_url(), self.api_key, open_timeout=open_timeout, reply_timeout=reply_timeout)


class StreamSession:
    """One websocket connection: send payloads, get parsed replies. Error replies raise APIError(400, ..., code);
    warnings stay inside the reply (e.g. ``reply.prosody.model_extra["warning"]``)."""

    def __init__(
        self, url: str, api_key: str | None = None, *, open_timeout: float = 10.0, reply_timeout: float = 120.0
    ) -> None:
        from websockets.exceptions import InvalidHandshake, InvalidStatus
        from websockets.sync.client import connect

        self.url = url
        self.reply_timeout = reply_timeout
        headers = {API_KEY_HEADER: api_key} if api_key else None
        try:
            self._ws = connect(url, additional_headers=headers, open_timeout=open_timeout, max_size=2**24)
        except InvalidStatus as e:
            resp = e.response
            message, code = _error_message(httpx.Response(resp.status_code, content=bytes(resp.body or b"")))
            raise APIError(resp.status_code, message, code) from None
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise APIError(0, f"cannot reach {url}: {e}", "unreachable") from None

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._ws.close()

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one raw payload and return the raw JSON reply (errors included, not raised)."""
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(json.dumps(payload))
            raw = self._ws.recv(timeout=self.reply_timeout)
        except ConnectionClosed as e:
            reason = e.rcvd.reason if e.rcvd else ""
            raise APIError(0, f"the stream was closed{': ' + reason if reason else ''}", "closed") from None
        except TimeoutError:
            raise APIError(0, f"no reply within {self.reply_timeout:g} s", "timeout") from None
        return json.loads(raw)

    def _parsed(self, payload: dict[str, Any]) -> StreamResponse:
        reply = self.send(payload)
        if "error" in reply:
            err = StreamError.model_validate(reply)
            raise APIError(400, err.error, err.code)
        return StreamResponse.model_validate(reply)

    def send_text(
        self, text: str, models: dict[str, Any] | None = None, *, payload_id: str | None = None, **extra: Any
    ) -> StreamResponse:
        """Measure raw text (language / ner)."""
        payload: dict[str, Any] = {"data": text, "raw_text": True, **extra}
        if models is not None:
            payload["models"] = models
        if payload_id is not None:
            payload["payload_id"] = payload_id
        return self._parsed(payload)

    def send_audio(
        self,
        data: bytes,
        models: dict[str, Any] | None = None,
        *,
        payload_id: str | None = None,
        stream_window_ms: int | None = None,
        reset_stream: bool = False,
        **extra: Any,
    ) -> StreamResponse:
        """Measure one media payload (at most 5 s of audio; see :func:`emolens.engine.audio.audio_chunks`)."""
        payload: dict[str, Any] = {"data": base64.b64encode(data).decode(), **extra}
        if models is not None:
            payload["models"] = models
        if payload_id is not None:
            payload["payload_id"] = payload_id
        if stream_window_ms is not None:
            payload["stream_window_ms"] = stream_window_ms
        if reset_stream:
            payload["reset_stream"] = True
        return self._parsed(payload)

    def reset(self) -> dict[str, Any]:
        """Forget the audio context kept for ``stream_window_ms``."""
        return self.send({"reset_stream": True})
