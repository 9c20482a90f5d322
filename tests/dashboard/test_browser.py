"""Every dashboard page in headless Chromium, against a study a real worker process is writing.

Screenshots are kept under tests/artifacts/ (git-ignored); each test prints their paths.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from hpo.storage import Storage
from tests.dashboard.conftest import start_worker, stop
from tests.dashboard.live_study import create

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _finished(storage: Storage, study_id: int) -> int:
    counts = storage.counts(study_id)
    return sum(counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAILED"))


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _counts_text(storage: Storage, study_id: int) -> str:
    """What the page's header shows: ``11 complete, 13 pruned, 6 failed, 1 waiting``."""
    counts = storage.counts(study_id)
    return ", ".join(
        f"{counts[s]} {s.lower()}"
        for s in ("COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING")
        if counts.get(s)
    )


def _distinct_colours(png: bytes) -> int:
    """How many colours a screenshot holds: an empty plot is one or two."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(image.getcolors(maxcolors=1 << 24) or [])


def _shot(page: Any, artifacts: Path, name: str) -> Path:
    path = artifacts / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_study_pages_follow_a_running_worker(
    browser: Any, tmp_path: Path, dashboard_server: Any, artifacts: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = create(url, "live-demo")
    storage = study.storage
    worker = start_worker(url, "live-demo", trials=60, epoch_seconds=0.08)  # outlives the checks
    try:
        _wait(lambda: _finished(storage, study.id) >= 4, 60, "4 finished trials")
        server = dashboard_server(url)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.base}/studies/{study.id}")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        page.evaluate("window.__notReloaded = true")

        # live: a trial that had not started when the page loaded shows up without a reload
        # (the leaderboard lists COMPLETE trials by default, all of them on page 1 here)
        newest = storage.snapshot(study.id, with_history=False).next_number
        page.wait_for_function(
            "n => [...document.querySelectorAll('#leaderboard-table tr[data-number]')]"
            ".some(row => Number(row.dataset.number) >= n)",
            arg=newest,
            timeout=30_000,
        )
        assert page.evaluate("window.__notReloaded") is True
        assert page.locator("#workers tbody tr").count() >= 1
        assert "s ago" in page.locator("#workers tbody").inner_text()

        # learning curves of the running study: one line per trial, real points
        page.click("button[data-tab=curves]")
        page.wait_for_selector("#curves-plot[data-rendered]", timeout=15_000)
        paths = page.locator("#curves-plot .scatterlayer .trace path.js-line")
        assert paths.count() >= 3
        assert len(paths.first.get_attribute("d") or "") > 10
        _shot(page, artifacts, "curves-live")

        # the importance tab draws bars from 8 complete trials on: on a loaded machine the
        # median pruner can have left fewer by now (CI saw an empty plot), so wait for them
        _wait(
            lambda: storage.counts(study.id).get("COMPLETE", 0) >= 8,
            90,
            "8 complete trials for the importance tab",
        )
        stop(worker)  # SIGTERM: its running trial is released and re-queued; the study is now still
        assert worker.returncode == 143, worker.stderr.read() if worker.stderr else ""
        best = storage.leaderboard(study.id, study.direction, top=1)[0]

        # the leaderboard shows the right best trial, highlighted and first, once the worker stopped
        page.click("button[data-tab=leaderboard]")
        try:
            _wait(
                lambda: (
                    page.locator("#leaderboard-table tr.best").count() == 1
                    and page.locator("#leaderboard-table tr.best").get_attribute("data-number")
                    == str(best.number)
                    and page.locator("#counts").inner_text() == _counts_text(storage, study.id)
                ),
                20,
                f"trial #{best.number} highlighted as the best",
            )
        except AssertionError:
            print(
                "page:",
                page.locator("#counts").inner_text(),
                page.locator("#live").inner_text(),
                page.eval_on_selector_all(
                    "#leaderboard-table tr[data-number]",
                    "els => els.map(e => e.dataset.number + e.className)",
                ),
                "db:",
                storage.counts(study.id),
                best.number,
            )
            raise
        first = page.locator("#leaderboard-table tbody tr").first
        assert first.get_attribute("data-number") == str(best.number)
        assert first.locator("td.value").inner_text() == f"{best.value:.6g}"
        _shot(page, artifacts, "leaderboard")

        # a plot per tab renders real marks, not an empty canvas
        page.click("button[data-tab=history]")
        page.wait_for_selector("#history-plot[data-rendered]", timeout=15_000)
        n_complete = storage.counts(study.id).get("COMPLETE", 0)
        assert (
            page.locator("#history-plot .scatterlayer .trace").first.locator("path.point").count()
            == n_complete
        )
        _shot(page, artifacts, "history")

        page.click("button[data-tab=parallel]")
        page.wait_for_selector("#parallel-plot[data-rendered]", timeout=15_000)
        labels = page.eval_on_selector_all(
            "#parallel-plot .axis-title", "els => els.map(e => e.textContent)"
        )
        assert labels[:3] == ["lr (log)", "layers", "width"]
        ticks = page.eval_on_selector_all(
            "#parallel-plot .tick text", "els => els.map(e => e.textContent)"
        )
        assert {"0.0001", "0.001", "0.01", "0.1"} <= set(ticks)  # a log axis, labelled by value
        assert _distinct_colours(page.locator("#parallel-plot").screenshot()) > 20
        _shot(page, artifacts, "parallel")

        page.click("button[data-tab=importance]")
        page.wait_for_selector("#importance-plot[data-rendered]", timeout=30_000)
        assert "Permutation importance" in page.locator("#importance-note").inner_text()
        assert page.locator("#importance-plot .bars path").count() == 3
        _shot(page, artifacts, "importance")

        page.click("button[data-tab=slice]")
        page.wait_for_selector("#slice-plot[data-rendered]", timeout=15_000)
        assert page.locator("#slice-plot .contourlayer, #slice-plot .heatmaplayer").count() >= 1
        assert _distinct_colours(page.locator("#slice-plot").screenshot()) > 20
        _shot(page, artifacts, "slice")
        assert errors == []
    finally:
        stop(worker)


def test_studies_trial_and_compare_pages(
    browser: Any, tmp_path: Path, dashboard_server: Any, artifacts: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    first, second = create(url, "first-study", seed=1), create(url, "second-study", seed=2)
    worker = start_worker(url, "first-study", trials=6, epoch_seconds=0.02)
    assert worker.wait(120) == 0
    second_worker = start_worker(url, "second-study", trials=40, epoch_seconds=0.1)
    try:
        server = dashboard_server(url)
        page = browser.new_page(viewport={"width": 1300, "height": 800})
        page.goto(server.base + "/")
        page.wait_for_selector("#studies tr[data-id]")
        assert page.locator("#studies tr[data-id]").count() == 2
        assert "read-only" in page.locator("#where").inner_text()
        # the running study's counts move on the studies page without a reload
        before = page.locator(f"#studies tr[data-id='{second.id}'] td").nth(5).inner_text()
        _wait(
            lambda: (
                page.locator(f"#studies tr[data-id='{second.id}'] td").nth(5).inner_text() != before
            ),
            20,
            "the second study's counts to change",
        )
        _shot(page, artifacts, "studies")

        page.check(f"#studies input[value='{first.id}']")
        page.check(f"#studies input[value='{second.id}']")
        page.click("#compare")
        page.wait_for_selector("#compare-plot[data-rendered='2']", timeout=15_000)
        assert page.locator("#compare-plot .scatterlayer .trace").count() == 2
        _shot(page, artifacts, "compare")

        best = first.storage.leaderboard(first.id, first.direction, top=1)[0]
        page.goto(f"{server.base}/studies/{first.id}/trials/{best.number}")
        page.wait_for_selector("#curve-plot[data-rendered]", timeout=15_000)
        assert page.locator("#trial-value").inner_text() == f"{best.value:.6g}"
        text = page.locator("main").inner_text()
        for name in ("lr", "layers", "width", "test accuracy", "best_epoch", "worker"):
            assert name in text
        assert page.locator("#curve-plot .scatterlayer .trace").count() == 2  # curve + kept epoch
        _shot(page, artifacts, "trial")
    finally:
        stop(second_worker)
