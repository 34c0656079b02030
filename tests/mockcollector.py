"""An in-memory collector for httpx.MockTransport: unit tests only (integration tests use a
real server process)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable

import httpx


class MockCollector:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.requests: list[httpx.Request] = []
        self.probes = 0
        self.down = False
        self.status: int | None = None  # force this status on /v1/batch
        self.health_status = 200
        self.hang: asyncio.Event | None = None  # set: requests wait for it (blackhole)
        self.on_batch: Callable[[list[dict[str, object]]], int | None] | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.hang is not None:
            await self.hang.wait()
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/health":
            self.probes += 1
            return httpx.Response(self.health_status)
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        batch = json.loads(body)["batch"]
        if self.status is not None:
            return httpx.Response(self.status)
        if self.on_batch is not None:
            status = self.on_batch(batch)
            if status is not None:
                return httpx.Response(status)
        self.ids.extend(e["id"] for e in batch)
        return httpx.Response(200, json={"ok": True})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def batch_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/v1/batch"]
