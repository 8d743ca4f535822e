"""Keys never reach a log in plain text: a filter that rewrites ``?api_key=...`` (and similar) to ``***``."""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(r"(?i)([?&](?:api_key|apikey|access_token|token)=)[^&\s\"]*")


def scrub(text: str) -> str:
    """A log line with API keys in query strings replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", text)


class ScrubKeys(logging.Filter):
    """Log filter: keys in URLs (websocket ``?api_key=``) never reach a log file in plain text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):  # uvicorn's access formatter needs the tuple shape kept
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_scrubbing(*, root_handlers: bool = False) -> None:
    """Add :class:`ScrubKeys` to the loggers that print request lines (once per process); with ``root_handlers``
    also to the root logger's handlers, which see every record that propagates (emolens.service.* included)."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "emolens.service"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubKeys) for f in logger.filters):
            logger.addFilter(ScrubKeys())
    if root_handlers:
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, ScrubKeys) for f in handler.filters):
                handler.addFilter(ScrubKeys())
