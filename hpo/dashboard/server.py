"""Run the dashboard under uvicorn, bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from hpo.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def require_extra() -> None:
    """Raise ConfigError naming the ``dashboard`` extra when its packages are missing."""
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "plotly") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"hpo dashboard needs {', '.join(missing)}; install them with: "
            "pip install 'hpo[dashboard]'."
        )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def banner(safe_url: str, host: str, port: int) -> list[str]:
    """What ``hpo dashboard`` prints on start: where, what, and who can reach it."""
    shown = f"[{host}]" if ":" in host else host
    lines = [
        f"hpo dashboard (read-only) for {safe_url}",
        f"Open http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/",
    ]
    if is_loopback(host):
        lines.append(
            f"Bound to {host}: only this machine can connect. Pass --host 0.0.0.0 to "
            "let other machines in (there is no login)."
        )
    else:
        lines.append(
            f"Bound to {host}: anyone who can reach this machine on port {port} can "
            "read every study here (there is no login)."
        )
    return lines


def serve(
    storage: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    echo: Callable[[str], None] = print,
    log_level: str = "warning",
) -> None:
    """Serve the dashboard of ``storage`` until Ctrl-C."""
    require_extra()
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be an int in [1, 65535]. Got {port}.")
    import uvicorn

    from hpo.dashboard.app import create_app

    app = create_app(storage, host=host)
    for line in banner(app.state.dashboard.reader.safe_url, host, port):
        echo(line)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
