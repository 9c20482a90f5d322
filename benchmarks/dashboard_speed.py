"""How fast ``hpo dashboard`` is on a 100,000-trial study, and what it costs running writers.

Three measurements (results and the exact runs in benchmarks/README.md):

* ``build``   -- a SQLite study of N finished trials with params, metrics and 10-epoch
  learning curves, inserted in bulk (the shape a long study leaves behind).
* ``pages``   -- a real ``hpo dashboard`` process serving it: the time of each JSON route
  (median of ``--repeat`` runs), then headless Chromium (Debian's, via Playwright): the first
  paint and the time until the leaderboard is drawn, cold (new browser context, nothing
  cached) and warm, and the time to turn a leaderboard page and to re-sort it.
* ``writers`` -- trials/s of a 4-worker study (8 reported epochs per trial) in a fixed window,
  with no dashboard, and with the study page open in Chromium (polling every second),
  alternating rounds so that the machine's load hits both alike.

    PYTHONPATH=. .venv/bin/python benchmarks/dashboard_speed.py build --db /tmp/dash100k.db
    PYTHONPATH=. .venv/bin/python benchmarks/dashboard_speed.py pages --db /tmp/dash100k.db
    PYTHONPATH=. .venv/bin/python benchmarks/dashboard_speed.py writers --rounds 3
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _space() -> dict[str, Any]:
    from hpo.space import Categorical, Float, Int

    return {
        "lr": Float(1e-4, 1e-1, log=True),
        "layers": Int(1, 4),
        "width": Categorical([32, 64, 128, 256]),
        "act": Categorical(["relu", "tanh"]),
    }


def _score(lr: float, layers: int, act: str) -> float:
    return 0.95 - 0.08 * abs(math.log10(lr) + 2) - 0.02 * abs(layers - 3) - 0.03 * (act == "tanh")


# ---------------------------------------------------------------------- build
def build(db: Path, n: int, epochs: int = 10, seed: int = 0) -> None:
    """A study named ``big`` of ``n`` finished trials, inserted in bulk (80% complete)."""
    from sqlalchemy import insert, update

    import hpo
    from hpo.storage import utcnow
    from hpo.storage.schema import IntermediateRow, StudyRow, TrialRow

    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    study = hpo.create_study(
        "big", space=_space(), storage=url, direction="maximize", sampler="random", seed=seed
    )
    store = study.storage
    rng = random.Random(seed)
    start = utcnow() - timedelta(seconds=n)
    t0 = time.perf_counter()
    for first in range(0, n, 10_000):
        trials, points = [], []
        for i in range(first, min(n, first + 10_000)):
            lr = 10 ** rng.uniform(-4, -1)
            layers, act = rng.randint(1, 4), rng.choice(["relu", "tanh"])
            final = _score(lr, layers, act) + rng.gauss(0, 0.02)
            roll = rng.random()
            state = "COMPLETE" if roll < 0.8 else "PRUNED" if roll < 0.94 else "FAILED"
            stop = epochs if state == "COMPLETE" else 3
            curve = [final * (1 - math.exp(-(e + 1) / 3)) for e in range(stop)]
            begun = start + timedelta(seconds=i)
            trials.append(
                {
                    "id": i + 1,
                    "study_id": study.id,
                    "number": i,
                    "state": state,
                    "params": {
                        "lr": lr,
                        "layers": layers,
                        "width": rng.choice([32, 64, 128, 256]),
                        "act": act,
                    },
                    "value": None if state == "FAILED" else curve[-1],
                    "metrics": {
                        "test_accuracy": final - 0.01,
                        "best_epoch": stop - 1,
                        "n_epochs": stop,
                    }
                    if state == "COMPLETE"
                    else {},
                    "user_attrs": {},
                    "started_at": begun,
                    "finished_at": begun + timedelta(seconds=0.9),
                    "heartbeat_at": begun,
                    "worker_id": f"bench-{i % 4}",
                    "error": "ValueError: diverged" if state == "FAILED" else None,
                }
            )
            if state != "FAILED":
                points += [
                    {"trial_id": i + 1, "study_id": study.id, "step": e, "value": v}
                    for e, v in enumerate(curve)
                ]
        store.tx.run(
            lambda s, t=trials, p=points: (
                s.execute(insert(TrialRow), t),
                s.execute(insert(IntermediateRow), p),
            )
        )
    store.tx.run(
        lambda s: s.execute(update(StudyRow).where(StudyRow.id == study.id).values(next_number=n))
    )
    store.engine.dispose()
    print(
        f"built {n} trials ({epochs}-epoch curves) in {db} in {time.perf_counter() - t0:.1f} s; "
        f"{db.stat().st_size / 1e6:.0f} MB"
    )


# ---------------------------------------------------------------------- server and browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dashboard:
    """``hpo dashboard`` in its own process."""

    def __init__(self, url: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hpo", "dashboard", "--storage", url, "--port", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/api/info", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the dashboard did not start")

    def get_ms(self, path: str) -> float:
        t = time.perf_counter()
        with urllib.request.urlopen(self.base + path, timeout=60) as answer:
            answer.read()
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _browser(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=os.environ.get("HPO_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
    )


def pages(db: Path, repeat: int) -> None:
    """JSON route times, then first paint and leaderboard times in Chromium."""
    from playwright.sync_api import sync_playwright

    server = Dashboard(f"sqlite:///{db}")
    try:
        routes = [
            "/api/studies",
            "/api/studies/1",
            "/api/studies/1/version",
            # the leaderboard as the page first asks for it, deep pages, other sorts
            "/api/studies/1/trials?state=COMPLETE",
            "/api/studies/1/trials?state=COMPLETE&page=2000",
            "/api/studies/1/trials?state=COMPLETE&page_size=500",
            "/api/studies/1/trials?state=COMPLETE&sort=param:lr&desc=1",
            "/api/studies/1/trials?state=COMPLETE&range.lr=0.001:0.01&choice.act=relu",
            "/api/studies/1/trials?state=COMPLETE&state=PRUNED&state=FAILED",
            "/api/studies/1/trials/4321",
            "/api/studies/1/workers",
            "/api/studies/1/history",
            "/api/studies/1/curves",
            "/api/studies/1/parallel",
            "/api/studies/1/slice?x=lr&y=layers",
            "/api/studies/1/importance",
            "/api/compare?ids=1",
        ]
        print("| route | median ms | max ms |\n|---|---:|---:|")
        for route in routes:
            times = [server.get_ms(route) for _ in range(repeat)]
            print(f"| `{route}` | {statistics.median(times):.0f} | {max(times):.0f} |")
        with sync_playwright() as p:
            browser = _browser(p)
            rows = []
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1300, "height": 900})
                page = context.new_page()
                for warm in (False, True):
                    t = time.perf_counter()
                    page.goto(f"{server.base}/studies/1")
                    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                    wall = (time.perf_counter() - t) * 1000
                    timing = page.evaluate("""() => ({
                        fcp: (performance.getEntriesByName('first-contentful-paint')[0]
                              || {}).startTime,
                        ready: window.hpoTimings.readyAt})""")
                    rows.append((warm, timing["fcp"], timing["ready"], wall))
                t = time.perf_counter()
                page.click("#leaderboard-pager button:has-text('next')")
                page.wait_for_function(
                    "document.getElementById('page-info').textContent.startsWith('page 2 ')"
                )
                turn = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                page.click("th[data-sort='param:lr']")
                page.wait_for_selector("th.sorted[data-sort='param:lr']")
                resort = (time.perf_counter() - t) * 1000
                rows.append(("turn", turn, resort, None))
                context.close()
            browser.close()
        for warm in (False, True):
            mine = [r for r in rows if r[0] is warm]
            print(
                f"{'warm' if warm else 'cold'} page load (n={len(mine)}): first paint median "
                f"{statistics.median(r[1] for r in mine):.0f} ms, leaderboard drawn median "
                f"{statistics.median(r[2] for r in mine):.0f} ms "
                f"(max {max(r[2] for r in mine):.0f}), "
                f"load to ready as Playwright saw it {statistics.median(r[3] for r in mine):.0f} ms"
            )
        turns = [r for r in rows if r[0] == "turn"]
        print(
            f"next leaderboard page: median {statistics.median(r[1] for r in turns):.0f} ms; "
            f"re-sort by a parameter: median {statistics.median(r[2] for r in turns):.0f} ms"
        )
    finally:
        server.close()


# ---------------------------------------------------------------------- writers
def objective(params: dict[str, Any], reporter: Any) -> dict[str, Any]:
    """8 'epochs' of EPOCH_SECONDS each, every one reported (8 curve writes per trial)."""
    best = -math.inf
    for epoch in range(8):
        time.sleep(float(os.environ.get("EPOCH_SECONDS", "0.01")))
        best = max(
            best,
            _score(params["lr"], params["layers"], params["act"])
            * (1 - math.exp(-(epoch + 1) / 3)),
        )
        reporter.report(epoch, best)
    return {"value": best, "best_epoch": 7}


def worker(url: str, name: str) -> None:
    from hpo.execution.worker import worker_loop
    from hpo.study import load_study

    worker_loop(load_study(name, storage=url, objective=objective), n_trials=10**7)


def _finished_since(url: str, since: Any) -> list[tuple[str, Any]]:
    """(worker, finished_at) of trials COMPLETE since ``since``: one indexed, bounded read."""
    from sqlalchemy import create_engine, select

    from hpo.storage.schema import TrialRow

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(TrialRow.worker_id, TrialRow.finished_at).where(
                        TrialRow.state == "COMPLETE", TrialRow.finished_at >= since
                    )
                ).tuples()
            )
    finally:
        engine.dispose()


def _measure(url: str, name: str, n_workers: int, seconds: float) -> float:
    """Once every worker has finished a trial, trials/s finished in the next ``seconds``."""
    from hpo.storage import utcnow

    since = utcnow()
    deadline = time.monotonic() + 180
    while len({worker for worker, _ in _finished_since(url, since)}) < n_workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not all finish a trial within 180 s")
        time.sleep(0.5)
    begin = utcnow()
    time.sleep(seconds)
    end = utcnow()
    done = [f for _, f in _finished_since(url, begin) if f < end]
    return len(done) / (end - begin).total_seconds()


def hpo_state(name: str) -> Any:
    from hpo.trial import TrialState

    return TrialState(name)


class PagePoller:
    """What an open study page asks of the server, without a browser: the version marker every
    second and, when it moved, the summary, the leaderboard page and the curves tab."""

    def __init__(self, base: str) -> None:
        import threading

        self.base, self.stop, self.requests = base, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _get(self, path: str) -> bytes:
        self.requests += 1
        with urllib.request.urlopen(self.base + path, timeout=60) as answer:
            return answer.read()

    def _run(self) -> None:
        seen = b""
        while not self.stop.wait(1.0):
            version = self._get("/api/studies/1/version")
            if version != seen:
                seen = version
                for path in ("", "/trials?state=COMPLETE", "/curves", "/workers"):
                    self._get("/api/studies/1" + path)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def writers(
    rounds: int,
    n_workers: int,
    seconds: float,
    base_db: Path | None = None,
    client: str = "chromium",
) -> None:
    """trials/s of ``n_workers`` processes without and with the study page open, alternating.

    With ``base_db`` (a database from ``build``) every round starts from a copy of it and the
    workers continue its 100,000-trial study ``big``: the dashboard then reads a big study.
    """
    import shutil

    from playwright.sync_api import sync_playwright

    import hpo

    results: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = _browser(p)
        for r in range(rounds):
            for watched in (False, True) if r % 2 == 0 else (True, False):
                url = f"sqlite:///{tmp}/w{r}{int(watched)}.db"
                if base_db is not None:
                    shutil.copy(base_db, f"{tmp}/w{r}{int(watched)}.db")
                    name = "big"
                else:
                    name = "writers"
                    hpo.create_study(
                        name,
                        space=_space(),
                        storage=url,
                        direction="maximize",
                        sampler="random",
                        seed=r,
                        objective=objective,
                    ).storage.engine.dispose()
                server = page = history = poller = None
                if watched:
                    server = Dashboard(url)
                    if client == "chromium":
                        page = browser.new_page()
                        page.goto(f"{server.base}/studies/1#curves")
                        history = browser.new_page()
                        history.goto(f"{server.base}/studies/1#history")
                    else:
                        poller = PagePoller(server.base)
                procs = [
                    subprocess.Popen(
                        [sys.executable, __file__, "worker", url, name],
                        cwd=ROOT,
                        env={**os.environ, "PYTHONPATH": str(ROOT)},
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(n_workers)
                ]
                try:
                    rate = _measure(url, name, n_workers, seconds)
                finally:
                    for proc in procs:
                        proc.terminate()
                for proc in procs:
                    proc.wait(30)
                if server is not None:
                    if poller is not None:
                        poller.close()
                    else:
                        page.close()
                        history.close()
                    server.close()
                results[watched].append(rate)
                print(
                    f"round {r}: {'with' if watched else 'without'} dashboard: {rate:.1f} trials/s "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        browser.close()
    without, with_ = statistics.mean(results[False]), statistics.mean(results[True])
    print(
        f"{n_workers} workers, mean over {rounds} rounds: without {without:.1f} trials/s, with the "
        f"dashboard open ({client}) {with_:.1f} trials/s: {100 * with_ / without:.0f}%"
    )


# ---------------------------------------------------------------------- optuna-dashboard
def optuna_compare(n: int, tmp: Path) -> None:
    """An equal-sized Optuna study (same space, curves, state mix) under optuna-dashboard,
    next to hpo's on the same trials: the study page in Chromium until the network is idle."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial
    from playwright.sync_api import sync_playwright

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    hpo_db, optuna_db = tmp / "hpo.db", tmp / "optuna.db"
    build(hpo_db, n)
    rng = random.Random(0)
    dists = {
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "layers": IntDistribution(1, 4),
        "width": CategoricalDistribution([32, 64, 128, 256]),
        "act": CategoricalDistribution(["relu", "tanh"]),
    }
    trials = []
    for _ in range(n):
        params = {
            "lr": 10 ** rng.uniform(-4, -1),
            "layers": rng.randint(1, 4),
            "width": rng.choice([32, 64, 128, 256]),
            "act": rng.choice(["relu", "tanh"]),
        }
        final = _score(params["lr"], params["layers"], params["act"]) + rng.gauss(0, 0.02)
        roll = rng.random()
        state = (
            TrialState.COMPLETE
            if roll < 0.8
            else TrialState.PRUNED
            if roll < 0.94
            else TrialState.FAIL
        )
        stop = 10 if state == TrialState.COMPLETE else 3
        curve = {e: final * (1 - math.exp(-(e + 1) / 3)) for e in range(stop)}
        trials.append(
            create_trial(
                params=params,
                distributions=dists,
                state=state,
                value=curve[stop - 1] if state == TrialState.COMPLETE else None,
                intermediate_values={} if state == TrialState.FAIL else curve,
            )
        )
    t0 = time.perf_counter()
    study = optuna.create_study(
        study_name="big", storage=f"sqlite:///{optuna_db}", direction="maximize"
    )
    study.add_trials(trials)
    print(f"optuna study of {n} trials written in {time.perf_counter() - t0:.0f} s")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("optuna-dashboard")),
            f"sqlite:///{optuna_db}",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Dashboard(f"sqlite:///{hpo_db}")
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        pages = {
            "optuna-dashboard": f"http://127.0.0.1:{port}/dashboard/studies/1",
            "hpo dashboard": f"{server.base}/studies/1",
        }
        apis = {
            "optuna-dashboard": f"http://127.0.0.1:{port}/api/studies/1",
            "hpo dashboard": f"{server.base}/api/studies/1/trials?state=COMPLETE",
        }
        with sync_playwright() as p:
            browser = _browser(p)
            for name, url in pages.items():
                api = []
                for _ in range(3):
                    t = time.perf_counter()
                    with urllib.request.urlopen(apis[name], timeout=300) as answer:
                        size = len(answer.read())
                    api.append((time.perf_counter() - t) * 1000)
                loads = []
                for _ in range(3):
                    context = browser.new_context(viewport={"width": 1300, "height": 900})
                    page = context.new_page()
                    t = time.perf_counter()
                    page.goto(url, wait_until="networkidle", timeout=300_000)
                    loads.append((time.perf_counter() - t) * 1000)
                    context.close()
                print(
                    f"| {name} | {n} | {statistics.median(api):.0f} ms ({size / 1e6:.1f} MB) | "
                    f"{statistics.median(loads):.0f} ms |"
                )
            browser.close()
    finally:
        server.close()
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--db", type=Path, default=Path("/tmp/dash100k.db"))
    b.add_argument("--trials", type=int, default=100_000)
    pg = sub.add_parser("pages")
    pg.add_argument("--db", type=Path, default=Path("/tmp/dash100k.db"))
    pg.add_argument("--repeat", type=int, default=5)
    w = sub.add_parser("writers")
    w.add_argument("--rounds", type=int, default=3)
    w.add_argument("--workers", type=int, default=4)
    w.add_argument("--seconds", type=float, default=20.0)
    w.add_argument(
        "--client",
        choices=["chromium", "http"],
        default="chromium",
        help="chromium: two study pages open in Chromium on this machine; http: the "
        "requests one open page makes, without a browser",
    )
    w.add_argument(
        "--base-db",
        type=Path,
        default=None,
        help="continue the 'big' study of this database (from build) in every round",
    )
    oc = sub.add_parser("optuna")
    oc.add_argument("--trials", type=int, default=10_000)
    oc.add_argument("--dir", type=Path, default=Path("/tmp/dash-optuna"))
    wk = sub.add_parser("worker")
    wk.add_argument("url")
    wk.add_argument("name")
    args = parser.parse_args()
    if args.command == "build":
        build(args.db, args.trials)
    elif args.command == "pages":
        pages(args.db, args.repeat)
    elif args.command == "writers":
        writers(args.rounds, args.workers, args.seconds, args.base_db, args.client)
    elif args.command == "optuna":
        args.dir.mkdir(parents=True, exist_ok=True)
        optuna_compare(args.trials, args.dir)
    else:
        worker(args.url, args.name)


if __name__ == "__main__":
    main()
