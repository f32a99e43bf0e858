"""The proxy bench's JSON-RPC case: what the RPC matcher costs a request through the proxy.

Two POSTs with the same trytond-style JSON-RPC body, one Ficus process: `POST /api/visits/1`
(in no plan: forwarded to legacy, the body never parsed) and `POST /benchdb/`, where a plan
has an RPC route for the call's method, left in phase `legacy` so that both go to the same
upstream and the only difference is the body parsed and the RPC route matched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Final

RPC_PATH: Final = "/benchdb/"
PLAIN_POST_PATH: Final = "/api/visits/1"
METHOD: Final = "model.party.party.search_read"
BODY: Final = json.dumps(
    {
        "id": 1,
        "method": METHOD,
        "params": [[["name", "ilike", "%a%"]], 0, 80, None, {"language": "en"}],
    }
)
_PLAN: Final = f"""\
feature: bench_rpc
owner: Bench
upstream:
  name: bench_rpc
  instances: [{{backend}}]
legacy_tables: []
routes:
  - method: POST
    path: /{{{{db}}}}/
    phase: legacy
    rpc: {{{{protocol: jsonrpc, method: {METHOD}, class: read}}}}
"""


def plans_with_rpc(shipped: Path, directory: Path, backend: str) -> Path:
    """The shipped plans plus the bench's RPC plan, in `directory`/plans."""
    plans = directory / "plans-with-rpc"
    shutil.copytree(shipped, plans)
    (plans / "bench_rpc.yaml").write_text(_PLAN.format(backend=backend))
    return plans


def post_script(directory: Path) -> Path:
    """A wrk Lua script that POSTs the JSON-RPC body to whatever URL wrk is given."""
    script = directory / "jsonrpc-post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(BODY)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return script
