"""The pin on mitmproxy's internals: its version, and every attribute Ficus replaces.

Checked in a fresh interpreter, where nothing is patched yet (the other tests of this process
may already have switched patches on): mitmproxy is 11.0.2; each attribute in
`proxy.mitm_patches.PATCHES` and `OVERRIDES` exists, not yet replaced by Ficus's, with the
parameters listed; and `apply_all()` changes exactly the attributes of `PATCHES`, no other.
"""

from __future__ import annotations

import json
import subprocess
import sys

import mitmproxy.version

from proxy.mitm_patches import MITMPROXY_VERSION, OVERRIDES, PATCHES

_PROBE = r"""
import importlib, inspect, json, sys
import proxy.server  # every Ficus module, as the proxy imports them
from proxy import mitm_patches

def resolve(owner):
    module, _, name = owner.partition(":")
    found = importlib.import_module(module)
    return getattr(found, name) if name else found

def snapshot():
    seen = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("mitmproxy") or module is None:
            continue
        for name, value in list(vars(module).items()):
            seen[(module_name, name)] = id(value)
            if isinstance(value, type) and value.__module__ == module_name:
                for attribute, member in list(vars(value).items()):
                    seen[(f"{module_name}:{name}", attribute)] = id(member)
    return seen

originals = {}
for patch in (*mitm_patches.PATCHES, *mitm_patches.OVERRIDES):
    value = getattr(resolve(patch.owner), patch.attribute)
    originals[f"{patch.owner}.{patch.attribute}"] = {
        "module": getattr(value, "__module__", None) or "",
        "parameters": list(inspect.signature(value).parameters),
    }
before = snapshot()
mitm_patches.apply_all(reuse_port_for_workers=True)
after = snapshot()
changed = sorted(
    f"{owner}.{attribute}"
    for (owner, attribute), ident in after.items()
    if before.get((owner, attribute)) != ident and not attribute.startswith("ficus_")
)
json.dump({"originals": originals, "changed": changed}, sys.stdout)
"""


def probe() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True, timeout=120
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_mitmproxy_is_the_version_the_patches_were_written_for():
    assert mitmproxy.version.VERSION == MITMPROXY_VERSION


def test_each_patched_attribute_is_mitmproxys_with_the_parameters_we_expect():
    originals = probe()["originals"]
    assert isinstance(originals, dict)
    for patch in (*PATCHES, *OVERRIDES):
        original = originals[f"{patch.owner}.{patch.attribute}"]
        # Not yet Ficus's (`Headers.get` is inherited from collections.abc.Mapping).
        assert not original["module"].startswith("proxy"), (patch, original)
        assert tuple(original["parameters"]) == patch.parameters, patch


def test_apply_all_changes_exactly_the_listed_attributes():
    changed = probe()["changed"]
    assert changed == sorted({f"{p.owner}.{p.attribute}" for p in PATCHES})
