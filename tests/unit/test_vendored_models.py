"""The SP-API models in schemas/spapi are Amazon's, unmodified: byte-identical to ../shared/specs/sp-api and to
the sha256 recorded in their README."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "schemas" / "spapi"
SHARED = ROOT.parent / "shared" / "specs" / "sp-api"
MODELS = sorted(p.name for p in VENDORED.glob("*.json"))


def recorded_sha256() -> dict[str, str]:
    readme = (VENDORED / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"\| `([^`]+\.json)` \|.*\| `([0-9a-f]{64})` \|", readme))


@pytest.mark.parametrize("name", MODELS)
def test_vendored_model_matches_its_recorded_sha256(name):
    assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == recorded_sha256()[name]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("name", MODELS)
def test_vendored_model_is_the_shared_one(name):
    assert (VENDORED / name).read_bytes() == (SHARED / name).read_bytes()
