"""URL fetching rules (emolens.service.fetch) with httpx.MockTransport: limits, redirects, names, refusals."""

from __future__ import annotations

import httpx
import pytest

from emolens.errors import ConfigError, MediaError
from emolens.service.fetch import fetch_url, validate_url


def _fetch(handler, tmp_path, url="http://93.184.216.34/a.wav", **kw):
    return fetch_url(url, tmp_path, allow_private=True, transport=httpx.MockTransport(handler), **kw)


def test_downloads_with_name_and_type(tmp_path):
    f = _fetch(lambda r: httpx.Response(200, content=b"RIFFdata", headers={"content-type": "audio/wav"}), tmp_path)
    assert f.filename == "a.wav" and f.content_type == "audio/wav" and f.size == 8
    assert f.path.read_bytes() == b"RIFFdata"


def test_content_disposition_and_extension_from_type(tmp_path):
    h = {"content-disposition": 'attachment; filename="talk one.mp3"'}
    assert _fetch(lambda r: httpx.Response(200, content=b"x", headers=h), tmp_path).filename == "talk one.mp3"
    f = _fetch(lambda r: httpx.Response(200, content=b"x", headers={"content-type": "text/plain"}), tmp_path,
               url="http://93.184.216.34/download")
    assert f.filename.startswith("download") and f.filename.endswith(".txt")


def test_size_limit_declared_and_streamed(tmp_path):
    with pytest.raises(MediaError, match="at most"):
        _fetch(lambda r: httpx.Response(200, content=b"x" * 100, headers={"content-length": "100"}), tmp_path,
               max_bytes=10)

    def chunked(request):
        return httpx.Response(200, content=iter([b"x" * 8, b"x" * 8]))

    with pytest.raises(MediaError, match="larger than"):
        _fetch(chunked, tmp_path, max_bytes=10)


def test_redirects_bounded_and_rechecked(tmp_path):
    def loop(request):
        return httpx.Response(302, headers={"location": "/again"})

    with pytest.raises(MediaError, match="too many redirects"):
        _fetch(loop, tmp_path, max_redirects=3)

    def to_file(request):
        return httpx.Response(302, headers={"location": "file:///etc/passwd"})

    with pytest.raises(MediaError, match="http"):
        _fetch(to_file, tmp_path)

    def to_private(request):
        return httpx.Response(302, headers={"location": "http://10.0.0.1/secret"})

    with pytest.raises(MediaError, match="private"):
        fetch_url("http://93.184.216.34/a.wav", tmp_path, allow_private=False,
                  transport=httpx.MockTransport(to_private))


def test_http_errors_and_empty(tmp_path):
    with pytest.raises(MediaError, match="HTTP 404"):
        _fetch(lambda r: httpx.Response(404), tmp_path)
    with pytest.raises(MediaError, match="empty"):
        _fetch(lambda r: httpx.Response(200, content=b""), tmp_path)

    def boom(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(MediaError, match="cannot fetch"):
        _fetch(boom, tmp_path)


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/x",
                                 "http://192.168.0.2/x", "http://localhost./x", "gopher://example.com/"])
def test_refused_urls(url):
    with pytest.raises(ConfigError):
        validate_url(url)


def test_allowed_when_configured():
    assert validate_url("http://127.0.0.1:8000/a.wav", allow_private=True)
    assert validate_url("https://example.com/a.wav")
