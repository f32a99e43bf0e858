"""nginx (Debian's /usr/sbin/nginx) for the benchmarks: the fast upstream and the reference proxy.

Each instance gets its own prefix, config, pid file and logs in a temporary directory and listens
on loopback only; nothing of the system's nginx configuration is read (`-c` and `-e` point into
the temporary directory, `daemon off` keeps it a child of the bench).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

NGINX: Final = "/usr/sbin/nginx"
BODY: Final = (
    '{"APPT_ID":1,"PAT_ID":17,"PROV_ID":3,"APPT_DT":"20261121","APPT_TM":"0930","STATUS_CD":"B"}'
)

_COMMON = """\
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
{body}
}}
"""

_UPSTREAM = """\
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type application/json;
            return 200 '{json}';
        }}
    }}
"""

_PROXY = """\
    upstream app {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
"""


def available() -> bool:
    return Path(NGINX).exists() or shutil.which("nginx") is not None


def _write(prefix: Path, workers: int, body: str) -> list[str]:
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(_COMMON.format(workers=workers, prefix=prefix, body=body))
    binary = NGINX if Path(NGINX).exists() else str(shutil.which("nginx"))
    return [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]


def upstream_command(prefix: Path, port: int) -> list[str]:
    """nginx answering every request `200` with BODY: the fast upstream."""
    return _write(prefix, 1, _UPSTREAM.format(port=port, json=BODY))


def proxy_command(prefix: Path, port: int, upstream_port: int, workers: int = 1) -> list[str]:
    """nginx as a keep-alive reverse proxy in front of the upstream."""
    return _write(prefix, workers, _PROXY.format(port=port, upstream_port=upstream_port))
