"""The Starlette application: four HTML pages, a JSON API under ``/api``, and local assets.

Pages are static HTML shells; their scripts (``static/*.js``) fetch the JSON API and
draw with plotly.js, served from the ``plotly`` wheel's own bundled file, so nothing
loads from the internet. Every database call runs in Starlette's thread pool inside one
short read-only transaction (:class:`~hpo.dashboard.reader.Reader`); there is no route
that writes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hpo.dashboard import figures, queries
from hpo.dashboard.reader import Reader
from hpo.errors import ConfigError, HPOError
from hpo.storage._records import utcnow

STATIC = Path(str(resources.files("hpo.dashboard") / "static"))
_CACHE = {"Cache-Control": "public, max-age=86400"}
IMPORTANCE_TTL_S = 15.0


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the ``plotly`` wheel (no CDN, no copy in our tree)."""
    try:
        import plotly
    except ImportError as e:  # pragma: no cover - the dashboard extra installs it
        raise ConfigError("The dashboard needs plotly: pip install 'hpo[dashboard]'.") from e
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover
        raise ConfigError(f"plotly is installed but has no bundled {path}; reinstall plotly.")
    return path


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ConfigError(f"{name} is required.")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an int. Got {raw!r}.") from None


def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated ints. Got {text!r}.") from None


def _float_or_none(text: str, name: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name} bounds must be numbers. Got {text!r}.") from None


def trial_query(request: Request) -> queries.TrialQuery:
    """A leaderboard request.

    Query: ``?state=&sort=&desc=&page=&page_size=&range.P=lo:hi&choice.P=a,b``.
    """
    params = request.query_params
    query = queries.TrialQuery(
        states=[s for raw in params.getlist("state") for s in raw.split(",") if s],
        sort=params.get("sort", "value"),
        page=_int(request, "page", 1),
        page_size=_int(request, "page_size", 25),
    )
    if params.get("desc") not in (None, ""):
        query.descending = params["desc"] in ("1", "true")
    for key, raw in params.multi_items():
        if key.startswith("range."):
            low, _, high = raw.partition(":")
            name = key[len("range.") :]
            query.ranges[name] = (
                _float_or_none(low, f"range.{name}"),
                _float_or_none(high, f"range.{name}"),
            )
        elif key.startswith("choice."):
            query.choices[key[len("choice.") :]] = [c for c in raw.split(",") if c]
    return query


class Dashboard:
    """The routes, bound to one :class:`Reader`."""

    def __init__(self, reader: Reader, *, host: str = "127.0.0.1") -> None:
        self.reader = reader
        self.host = host
        self._importance: dict[int, tuple[float, int, dict[str, Any]]] = {}
        self._history: dict[int, tuple[str, dict[str, Any]]] = {}

    async def _read(self, fn: Callable[[Connection], Any]) -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(self.reader.run, fn))
        except LookupError as e:
            return JSONResponse({"error": str(e).strip("'\"")}, status_code=404)
        except ConfigError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except HPOError as e:
            return JSONResponse({"error": str(e)}, status_code=503)

    async def _api(self, request: Request, fn: Callable[..., Any]) -> JSONResponse:
        try:
            return await fn(request)
        except ConfigError as e:
            return JSONResponse({"error": str(e)}, status_code=400)

    # ------------------------------------------------------------------ API
    async def info(self, request: Request) -> JSONResponse:
        return JSONResponse({"storage": self.reader.safe_url, "host": self.host, "read_only": True})

    async def studies(self, request: Request) -> JSONResponse:
        return await self._read(queries.studies)

    async def study(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return await self._read(lambda c: queries.study(c, sid))

    async def version(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return await self._read(lambda c: {"version": queries.version(c, sid)})

    async def trials(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]

        async def go(r: Request) -> JSONResponse:
            query = trial_query(r)
            return await self._read(lambda c: queries.trials_page(c, sid, query))

        return await self._api(request, go)

    async def trial(self, request: Request) -> JSONResponse:
        sid, number = request.path_params["sid"], request.path_params["number"]
        return await self._read(lambda c: queries.trial(c, sid, number))

    async def history(self, request: Request) -> JSONResponse:
        """Cached per study until its version marker moves (several open pages share one read)."""
        sid = request.path_params["sid"]

        def fn(conn: Connection) -> dict[str, Any]:
            marker = queries.version(conn, sid)
            cached = self._history.get(sid)
            if cached is None or cached[0] != marker:
                cached = (marker, figures.history(conn, sid))
                self._history[sid] = cached
            return cached[1]

        return await self._read(fn)

    async def curves(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]

        async def go(r: Request) -> JSONResponse:
            numbers = _ints(r.query_params.get("numbers", ""), "numbers")
            top = _int(r, "top", 10)
            return await self._read(lambda c: queries.curves(c, sid, numbers, top=top))

        return await self._api(request, go)

    async def parallel(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return await self._read(lambda c: figures.parallel(c, sid))

    async def importance(self, request: Request) -> JSONResponse:
        """Cached per study for a few seconds: a forest refit on every new trial costs CPU."""
        sid = request.path_params["sid"]

        def fn(conn: Connection) -> dict[str, Any]:
            n = figures._n_complete(conn, sid)
            cached = self._importance.get(sid)
            if cached and (cached[1] == n or time.monotonic() - cached[0] < IMPORTANCE_TTL_S):
                return cached[2]
            result = figures.importance(conn, sid)
            self._importance[sid] = (time.monotonic(), n, result)
            return result

        return await self._read(fn)

    async def slice(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        x, y = request.query_params.get("x", ""), request.query_params.get("y", "")
        return await self._read(lambda c: figures.slice_contour(c, sid, x, y))

    async def workers(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return await self._read(
            lambda c: {"now": queries.iso(utcnow()), "workers": queries.workers(c, sid, utcnow())}
        )

    async def compare(self, request: Request) -> JSONResponse:
        async def go(r: Request) -> JSONResponse:
            ids = _ints(r.query_params.get("ids", ""), "ids")
            if not ids:
                raise ConfigError("ids must name at least one study id, e.g. ids=1,2. Got ''.")
            return await self._read(lambda c: figures.compare(c, ids[:12]))

        return await self._api(request, go)

    # ------------------------------------------------------------------ pages and assets
    @staticmethod
    def page(name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return FileResponse(STATIC / f"{name}.html", media_type="text/html")

        return endpoint

    async def plotly(self, request: Request) -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript", headers=_CACHE)

    def routes(self) -> list[Any]:
        api = [
            ("/api/info", self.info),
            ("/api/studies", self.studies),
            ("/api/compare", self.compare),
            ("/api/studies/{sid:int}", self.study),
            ("/api/studies/{sid:int}/version", self.version),
            ("/api/studies/{sid:int}/trials", self.trials),
            ("/api/studies/{sid:int}/trials/{number:int}", self.trial),
            ("/api/studies/{sid:int}/history", self.history),
            ("/api/studies/{sid:int}/curves", self.curves),
            ("/api/studies/{sid:int}/parallel", self.parallel),
            ("/api/studies/{sid:int}/importance", self.importance),
            ("/api/studies/{sid:int}/slice", self.slice),
            ("/api/studies/{sid:int}/workers", self.workers),
        ]
        pages = [
            ("/", "studies"),
            ("/studies/{sid:int}", "study"),
            ("/studies/{sid:int}/trials/{number:int}", "trial"),
            ("/compare", "compare"),
        ]
        return [
            *(Route(path, fn, methods=["GET"]) for path, fn in api),
            *(Route(path, self.page(name), methods=["GET"]) for path, name in pages),
            Route("/assets/plotly.min.js", self.plotly, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"error": f"{request.url.path}: {getattr(exc, 'detail', exc)}"}, status_code=status
        )
    return Response(
        f"{status}: {getattr(exc, 'detail', '')}", status_code=status, media_type="text/plain"
    )


def create_app(storage: str | Reader, *, host: str = "127.0.0.1") -> Starlette:
    """The dashboard for ``storage`` (a URL or an open Reader); checks the schema first."""
    reader = storage if isinstance(storage, Reader) else Reader(storage)
    reader.check_schema()
    dashboard = Dashboard(reader, host=host)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        reader.dispose()

    app = Starlette(
        routes=dashboard.routes(), exception_handlers={HTTPException: _not_found}, lifespan=lifespan
    )
    app.state.dashboard = dashboard
    return app
