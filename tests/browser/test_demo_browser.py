"""`naast demo` in a real browser: a parent writes, the maatje sees it in the family's thread and
replies, the parent sees the reply. Starts the demo as a user would (a subprocess on a free port,
embedded Redis in a temporary data dir) and drives Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("NAAST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
STARTUP_S = 90  # the first start may warm up the NLU model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_cmd(port: int) -> list[str]:
    """`naast demo --port N`, as a person would start it (through the CLI module)."""
    return [sys.executable, "-m", "bot.cli", "demo", "--port", str(port)]


def stop(proc: subprocess.Popen[bytes]) -> int:
    """Ctrl+C, as a person would; kill only if it does not stop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed (looked for {CHROMIUM}); apt-get install chromium")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "NAAST_REDIS_URL")}
    env.update(NAAST_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    out_path, err_path = tmp_path / "demo.out", tmp_path / "demo.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        # cwd outside the repo: a developer's .env must not leak into the test
        proc = subprocess.Popen(demo_cmd(port), cwd=tmp_path, env=env, stdout=out, stderr=err)
    try:
        yield wait_for_url(proc, out_path, err_path)
    finally:
        code = stop(proc)
    errors = err_path.read_text()
    assert code == 0, f"demo did not stop cleanly on Ctrl+C (exit {code}):\n{errors}"
    assert "Traceback" not in errors, errors
    assert "Naast demo stopped." in out_path.read_text()


def wait_for_url(proc: subprocess.Popen[bytes], out_path: Path, err_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        for line in out_path.read_text().splitlines():
            if line.startswith("Naast demo: http://"):
                return line.split()[2]
        if proc.poll() is not None:
            pytest.fail(f"naast demo exited with {proc.returncode}:\n{err_path.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"naast demo printed no URL within {STARTUP_S}s:\n{err_path.read_text()}")


async def test_parent_and_maatje_talk_through_the_demo_page(demo_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 860})
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            await page.goto(demo_url)
            await expect(page.get_by_test_id("status")).to_have_text("Verbonden", timeout=15_000)

            parent = page.get_by_test_id("pane-parent")
            maatje = page.get_by_test_id("pane-maatje")
            await expect(parent.get_by_test_id("who-parent")).to_have_text("Sanne (Gezin Noor)")

            # Sanne writes; Enter sends.
            await parent.get_by_label("Jouw bericht").fill("Hoi Tineke, de zitting is morgen om 10 uur.")
            await parent.get_by_label("Jouw bericht").press("Enter")
            await expect(parent.get_by_test_id("message").filter(has_text="de zitting is morgen")).to_be_visible()

            # It arrives in Tineke's pane, headed by the family, in Gezin Noor's thread.
            relayed = maatje.get_by_test_id("message").filter(has_text="Gezin Noor — Sanne:")
            await expect(relayed).to_contain_text("Hoi Tineke, de zitting is morgen om 10 uur.", timeout=15_000)
            await maatje.get_by_test_id("thread-tab").filter(has_text="Gezin Daan").click()
            await expect(relayed).to_have_count(0)
            await maatje.get_by_test_id("thread-tab").filter(has_text="Gezin Noor").click()
            await expect(relayed).to_have_count(1)

            # Tineke answers in the thread: "Beantwoorden" sets the reply, the family is shown.
            await relayed.get_by_role("button", name="Beantwoorden").click()
            await expect(maatje.get_by_test_id("replying-maatje")).to_contain_text("Gezin Noor")
            reply_box = maatje.get_by_label("Jouw bericht")
            await expect(reply_box).to_be_focused()
            await reply_box.fill("Ik ben er morgen bij, Sanne.")
            await reply_box.press("Enter")
            await expect(maatje.get_by_test_id("replying-maatje")).to_be_hidden()

            # Sanne sees the answer, with only Tineke's first name.
            answer = parent.get_by_test_id("message").filter(has_text="Tineke: Ik ben er morgen bij, Sanne.")
            await expect(answer).to_be_visible(timeout=15_000)
            # Without "Beantwoorden" the bot asks which family; its inline buttons are real buttons.
            await reply_box.fill("Sterkte morgen!")
            await reply_box.press("Enter")
            ask = maatje.get_by_test_id("message").filter(has_text="Voor welk gezin is dit bericht?")
            await ask.get_by_role("button", name="Gezin Daan").click()
            await expect(maatje.get_by_test_id("message").filter(has_text="Verstuurd naar Gezin Daan")).to_be_visible()
            await expect(parent.get_by_test_id("switch-ahmed")).to_contain_text("1 nieuw")
            await parent.get_by_test_id("switch-ahmed").click()
            await expect(parent.get_by_test_id("who-parent")).to_have_text("Ahmed (Gezin Daan)")
            await expect(parent.get_by_test_id("message-text")).to_have_text(["Tineke: Sterkte morgen!"])
            await parent.get_by_test_id("switch-sanne").click()
            await expect(parent.get_by_test_id("message").filter(has_text="Sterkte")).to_have_count(0)

            # The English toggle changes the page's own words only.
            await page.get_by_test_id("lang-toggle").click()
            await expect(page.get_by_test_id("send-parent")).to_have_text("Send")
            await expect(answer).to_be_visible()
            await page.get_by_test_id("lang-toggle").click()

            shot = await page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
            assert len(shot) > 10_000
        finally:
            await browser.close()
    assert problems == []
