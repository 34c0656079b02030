"""The page `shipper serve` shows, in a real browser (Debian's chromium, driven by
Playwright): real hook events and OTLP logs arrive, and the page shows the feed, a filter, a
session's timeline with its failure, tokens and cost, and new events without a reload; an
event named like markup stays text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import browser
from .conftest import required_or_skip
from .viewing import (
    SESSION,
    Serve,
    api_request_record,
    native,
    otlp_logs,
    record_agent_session,
    run_hook,
)

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="module")
def chromium() -> str:
    why = browser.install()
    if why is not None:
        required_or_skip("chromium", why)
    path = browser.chromium()
    assert path is not None
    return path


@pytest.fixture
def page(chromium: str, tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True,
            args=browser.FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.errors = errors
            yield tab
        finally:
            context.close()


def test_the_page_shows_feed_filters_sessions_and_live_events(page: Any,
                                                              tmp_path: Path) -> None:
    """Everything a user looks at, in a real browser, with what real agents send."""
    from playwright.sync_api import expect

    serve = Serve(tmp_path)
    serve.start()
    try:
        cache = tmp_path / "cache"
        record_agent_session(cache, serve.url)
        serve.post("/v1/logs", json=otlp_logs([api_request_record(SESSION, 0.0421, 18200),
                                               api_request_record(SESSION, 0.0873, 24100)]))
        serve.post("/v1/batch", json={"batch": [native(1, HOSTILE, session_id=HOSTILE,
                                                       tool_name=HOSTILE)]})
        assert serve.get("/api/names")["total"] == 10

        page.goto(serve.url + "/")
        page.evaluate("window.__still_here = true")  # gone if the page were reloaded
        rows = page.locator("tr.event-row")
        rows.first.wait_for()
        assert rows.count() == 10
        expect(page.locator("#total")).to_have_text("10 events stored")
        names = page.locator("tr.event-row td.name").all_inner_texts()
        assert "claude_code.PostToolUseFailure" in names and "claude_code.api_request" in names

        # a hostile name is text: shown as typed, nothing of it runs or renders as markup
        assert HOSTILE in names
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#feed img, #feed script").count() == 0
        page.locator("tr.event-row", has_text="<script>").click()
        assert page.locator("#detail h2").inner_text() == HOSTILE
        assert page.locator("#detail img").count() == 0
        assert page.evaluate("window.__pwned") is None

        # the detail of an event
        page.locator("tr.event-row", has_text="claude_code.PostToolUseFailure").click()
        assert "file changed on disk" not in page.locator("#detail").inner_text()  # content
        assert '"tool_name": "Edit"' in page.locator("#detail pre.props").inner_text()

        # a filter: one source, then one event name
        page.select_option("#f-source", "claude-code")
        expect(rows).to_have_count(9)
        assert set(page.locator("tr.event-row td:nth-child(2)").all_inner_texts()) == {
            "claude-code"}
        page.select_option("#f-event", "claude_code.PreToolUse")
        expect(rows).to_have_count(2)
        assert "event=claude_code.PreToolUse" in page.url
        page.click("#f-clear")
        expect(rows).to_have_count(10)

        # the chart: one bar stack per bucket, a legend with the sources
        expect(page.locator("#legend")).to_contain_text("claude-code 9")
        assert page.locator("#chart-svg rect").count() >= 1

        # a session's timeline: tool calls with outcome and time, failures marked, tokens
        page.click(".tabs button[data-tab=sessions]")
        page.locator(f".lanes-table tr.session-row[data-session='{SESSION}']").click()
        page.locator("#session .tl-item").first.wait_for()
        items = page.locator("#session .tl-item")
        kinds = [c.split()[1] for c in items.evaluate_all("els => els.map(e => e.className)")]
        assert kinds == ["kind-start", "kind-prompt", "kind-tool", "kind-tool", "kind-end",
                         "kind-api", "kind-api"]
        failed = page.locator("#session .tl-item.failed")
        assert failed.count() == 1 and "Edit" in failed.inner_text()
        assert "failed" in failed.inner_text()
        bash = page.locator("#session .tl-item.kind-tool").first.inner_text()
        assert "Bash" in bash and (" ms" in bash or " s" in bash)
        cards = page.locator("#session .cards").inner_text()
        assert "$0.13" in cards and "42,300" in cards  # cost and tokens in, from telemetry
        assert page.locator("#session .timeline-svg rect.tl-tool.failed").count() == 1

        # live: a new hook event appears without a reload
        page.click(".tabs button[data-tab=feed]")
        run_hook(cache, serve.url, {"hook_event_name": "Notification", "session_id": SESSION,
                                    "notification_type": "idle_prompt"})
        page.locator("tr.event-row.fresh", has_text="claude_code.Notification").wait_for(
            timeout=60_000)
        assert page.evaluate("window.__still_here") is True
        assert page.locator("tr.event-row").count() == 11
        assert page.errors == []
        page.screenshot(path=str(tmp_path / "page.png"))  # to look at when this fails
    finally:
        serve.stop()
