"""The status page at / and its charts: plain httpx, and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess

import anyio
import httpx
import pytest

from obcore.charts import png_size
from obcore.replay import replay
from obcore.session import BookSession

from obmcp.backend import Backend
from obmcp.config import BUNDLED_RECORDING, ServerSettings
from tests.obmcp.conftest import FakeStreams, free_port, running_http

pytestmark = pytest.mark.anyio
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def settings(**kw) -> ServerSettings:
    return ServerSettings(mode="http", port=free_port(), **kw)


@pytest.fixture(scope="module")
def replayed() -> BookSession:
    sessions: dict = {}
    for _ in replay(BUNDLED_RECORDING, sessions=sessions):
        pass
    return sessions["ETHUSDT"]  # 14,515 trades on its tape: enough for a profile


@pytest.fixture
def streams(replayed):
    fake = FakeStreams({})
    fake.sessions["ETHUSDT"] = replayed  # tracked, LIVE
    fake.sessions["BTCUSDT"] = BookSession("BTCUSDT")  # tracked, never synced, no trades
    return fake


def _root(url: str) -> str:
    return url.removesuffix("/mcp")


async def test_page_lists_the_tracked_books(streams):
    async with running_http(settings(), Backend(streams=streams)) as url:
        async with httpx.AsyncClient() as http:
            page = await http.get(_root(url) + "/")
            post = await http.post(_root(url) + "/", content=b"x")
            flow = await http.get(_root(url) + "/charts/ETHUSDT/flow.png")
            untracked = await http.get(_root(url) + "/charts/SOLUSDT/flow.png")
            heatmap = await http.get(_root(url) + "/charts/ETHUSDT/heatmap.png")
            profile = await http.get(_root(url) + "/charts/ETHUSDT/profile.png")
            thin = await http.get(_root(url) + "/charts/BTCUSDT/profile.png")
            other = await http.get(_root(url) + "/charts/ETHUSDT/nope.png")
            mcp = await http.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<meta http-equiv="refresh"' in text
    assert 'data-symbol="ETHUSDT"' in text and 'data-symbol="BTCUSDT"' in text
    assert 'href="/charts/ETHUSDT/flow.png"' in text and 'href="/charts/ETHUSDT/profile.png"' in text
    assert "heatmap.png" not in text  # no store: no heatmap link
    for symbol, session in streams.sessions.items():
        row = text[text.index(f'data-symbol="{symbol}"'):]
        assert f'<td class="state">{session.state.name}</td>' in row[: row.index("</tr>")]
    assert post.status_code == 405
    assert flow.status_code == 200 and flow.headers["content-type"] == "image/png"
    assert png_size(flow.content) == (800, 500)
    assert untracked.status_code == 404 and "SOLUSDT is not tracked" in untracked.text
    assert heatmap.status_code == 404 and "--data-dir" in heatmap.text
    assert profile.status_code == 200 and png_size(profile.content) == (800, 500)
    assert thin.status_code == 404 and thin.text.startswith("insufficient_historical_data")
    assert other.status_code == 404
    assert mcp.status_code == 400 and "Mcp-Session-Id" in mcp.json()["error"]["message"]  # /mcp is unchanged


async def test_page_follows_the_token_and_host_rules(streams):
    async with running_http(settings(token="s3cret-token-value-0123456789abcdefgh"), Backend(streams=streams)) as url:
        async with httpx.AsyncClient() as http:
            anonymous = await http.get(_root(url) + "/")
            wrong_host = await http.get(_root(url) + "/", headers={"host": "evil.example",
                                                                   "authorization": "Bearer s3cret-token-value-0123456789abcdefgh"})
            evil_origin = await http.get(_root(url) + "/", headers={"origin": "http://evil.example",
                                                                    "authorization": "Bearer s3cret-token-value-0123456789abcdefgh"})
            allowed = await http.get(_root(url) + "/", headers={"authorization": "Bearer s3cret-token-value-0123456789abcdefgh"})
            chart = await http.get(_root(url) + "/charts/ETHUSDT/flow.png")
    assert anonymous.status_code == 401 and chart.status_code == 401
    assert wrong_host.status_code == 421
    assert evil_origin.status_code == 403
    assert allowed.status_code == 200 and "ETHUSDT" in allowed.text


async def test_page_says_when_nothing_is_tracked():
    async with running_http(settings(), Backend(streams=FakeStreams({}))) as url:
        async with httpx.AsyncClient() as http:
            page = await http.get(_root(url) + "/")
    assert page.status_code == 200 and 'id="empty"' in page.text


def find_chromium() -> str:
    """The Chromium binary (CHROMIUM env, else PATH). Not skipped when missing: CI needs it."""
    for name in (os.environ.get("CHROMIUM"), *CHROMIUM_NAMES):
        if name and (path := shutil.which(name)):
            return path
    raise AssertionError("no Chromium found: install the Debian package `chromium` (apt-get install -y chromium) "
                         "or set CHROMIUM to its path")


async def test_page_in_headless_chromium(streams, tmp_path):
    chromium = find_chromium()
    async with running_http(settings(), Backend(streams=streams)) as url:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
                   "--dump-dom", _root(url) + "/"]
        with anyio.fail_after(90):
            done = await anyio.run_process(command, check=False, stderr=subprocess.PIPE)
    dom = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    # the DOM as the browser built it: both tracked books, with their state and chart links
    assert dom.count('class="book"') == 2
    assert '<td class="symbol">ETHUSDT</td>' in dom and '<td class="symbol">BTCUSDT</td>' in dom
    eth = dom[dom.index('data-symbol="ETHUSDT"'):]
    eth = eth[: eth.index("</tr>")]
    assert f'<td class="state">{streams.sessions["ETHUSDT"].state.name}</td>' in eth
    assert 'href="/charts/ETHUSDT/profile.png"' in eth
