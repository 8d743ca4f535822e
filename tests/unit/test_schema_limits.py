"""The limits table: one source of truth, the README agrees with it, and the helpers that enforce it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emolens.errors import ConfigError
from emolens.schema import LIMITS, format_bytes, json_depth, loads_limited, parse_job_request

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_limit_with_its_value():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Limits and guarantees") :]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M)}
    assert set(rows) == set(LIMITS)
    for name, lim in LIMITS.items():
        assert lim.show() in rows[name], (name, rows[name])


def test_engine_text_limit_is_the_schema_one():
    from emolens.engine import text

    assert text.MAX_TEXT_CHARS == LIMITS["text_chars"].value


@pytest.mark.parametrize(
    "doc, depth",
    [
        ("{}", 1),
        ("[]", 1),
        ("1", 0),
        ('{"a": [1, {"b": "[[[["}]}', 3),
        ('"\\"[[["', 0),
        ("[" * 5000 + "]" * 5000, 5000),
        ('[{"x": "a\\\\"}, [[]]]', 3),
    ],
)
def test_json_depth_ignores_brackets_in_strings(doc, depth):
    assert json_depth(doc) == depth
    assert json_depth(doc.encode()) == depth


def test_loads_limited_refuses_deep_documents_without_recursing():
    assert loads_limited("[" * 32 + "]" * 32, "x") == json.loads("[" * 32 + "]" * 32)
    with pytest.raises(ConfigError, match=r"x nesting: 100,000 levels; at most 32 levels \(limit json_depth\)"):
        loads_limited("[" * 100_000 + "]" * 100_000, "x")


def test_sizes_read_as_the_user_set_them():
    assert format_bytes(100 * 1024 * 1024) == "100 MiB"
    assert format_bytes(int(105.9 * 1024 * 1024)) == "105.9 MiB"
    assert format_bytes(4096) == "4 KiB" and format_bytes(100) == "100 bytes"


def test_text_limits_name_the_limit_and_the_value():
    with pytest.raises(ConfigError, match=r"text\[1\]: 1,000,001 characters; at most 1,000,000 .*text_chars"):
        parse_job_request({"text": ["ok", "x" * 1_000_001]})
    with pytest.raises(ConfigError, match=r"2,100,000 characters; at most 2,000,000 .*text_total_chars"):
        parse_job_request({"text": ["x" * 700_000] * 3})
