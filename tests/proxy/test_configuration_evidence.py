"""The options addon opens the shadow evidence recorder with the control plane, and refuses an
evidence key that is not one (by the variable's name, never its value)."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from tests.proxy.control_db import ddl_control_db
from tests.proxy.hooks import FicusChain


@pytest.mark.anyio
async def test_a_control_plane_brings_a_recorder_and_closing_it_stops_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FICUS_EVIDENCE_KEY", "00112233445566778899aabbccddeeff")
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, ficus_control_db=ddl_control_db(tmp_path / "control.sqlite3"))
        assert addon.runtime.evidence is not None
        tctx.configure(addon, ficus_control_db="")
        assert addon.runtime.evidence is None


@pytest.mark.anyio
async def test_an_evidence_key_that_is_not_hex_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FICUS_EVIDENCE_KEY", "not-a-hex-key-at-all")
    addon = FicusChain()
    with (
        taddons.context(addon) as tctx,
        pytest.raises(exceptions.OptionsError, match="FICUS_EVIDENCE_KEY") as refused,
    ):
        tctx.configure(addon, ficus_control_db=ddl_control_db(tmp_path / "control.sqlite3"))
    assert "not-a-hex" not in str(refused.value)
    assert addon.runtime.flusher is None  # refused before anything was opened
