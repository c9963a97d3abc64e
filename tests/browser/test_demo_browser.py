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


async def open_page(pw, url: str, problems: list[str]):  # noqa: ANN001, ANN201 (playwright types)
    from playwright.async_api import expect

    browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    page = await browser.new_page(viewport={"width": 1360, "height": 860})
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    await page.goto(url)
    await expect(page.get_by_test_id("status")).to_have_text("Verbonden", timeout=15_000)
    return browser, page


async def test_a_message_sent_after_choosing_a_family_is_filed_in_that_familys_thread(demo_url: str) -> None:
    from playwright.async_api import expect

    problems: list[str] = []
    async with async_playwright_() as pw:
        browser, page = await open_page(pw, demo_url, problems)
        try:
            maatje = page.get_by_test_id("pane-maatje")
            tabs = maatje.get_by_test_id("thread-tab")
            daan_id = await tabs.filter(has_text="Gezin Daan").get_attribute("data-family-id")
            messages = maatje.get_by_test_id("message")
            box = maatje.get_by_label("Jouw bericht")

            # Tineke types without "Beantwoorden"; the bot asks which family. She answers by keyboard.
            await box.fill("Sterkte met de zitting!")
            await box.press("Enter")
            ask = messages.filter(has_text="Voor welk gezin is dit bericht?")
            daan = ask.get_by_role("button", name="Gezin Daan")
            await daan.focus()
            await page.keyboard.press("Enter")
            await expect(messages.filter(has_text="Verstuurd naar Gezin Daan")).to_be_visible(timeout=15_000)

            # The message, the question and the answer are filed under Gezin Daan, not "Alle gezinnen".
            mine = maatje.locator('[data-testid="message"][data-own="true"]')
            own = mine.filter(has_text="Sterkte met de zitting!")
            await expect(own).to_have_attribute("data-family-id", daan_id)
            # the confirmation answers her own message, so it quotes it
            confirmation = messages.filter(has_text="Verstuurd naar Gezin Daan")
            await expect(confirmation).to_contain_text("Sterkte met de zitting!")
            await expect(own.locator(".tag")).to_have_text("Gezin Daan")
            for m in (own, ask, messages.filter(has_text="Verstuurd naar Gezin Daan")):
                await expect(m).to_have_attribute("data-family-id", daan_id)
            await expect(tabs.filter(has_text="Gezin Daan")).to_contain_text("(3)")
            await expect(tabs.filter(has_text="Gezin Noor")).to_contain_text("(0)")
            await expect(daan).to_be_focused()  # the redraw keeps the keyboard where it was
            await tabs.filter(has_text="Gezin Noor").click()
            await expect(own).to_have_count(0)
            await expect(ask).to_have_count(0)
            await tabs.filter(has_text="Gezin Daan").click()
            await expect(own).to_have_count(1)
            await expect(own.get_by_role("button", name="Beantwoorden")).to_have_count(0)

            # From Gezin Noor's thread, a choice for Gezin Daan takes the pane along to that thread.
            await tabs.filter(has_text="Gezin Noor").click()
            await box.fill("Tot morgen!")
            await box.press("Enter")
            second = messages.filter(has_text="Voor welk gezin is dit bericht?")
            await expect(second).to_have_count(1, timeout=15_000)  # an open question shows in every thread
            await second.get_by_role("button", name="Gezin Daan").click()
            await expect(tabs.filter(has_text="Gezin Daan")).to_have_attribute("aria-pressed", "true")
            await expect(mine.filter(has_text="Tot morgen!")).to_have_attribute("data-family-id", daan_id)
            await expect(tabs.filter(has_text="Gezin Daan")).to_contain_text("(6)", timeout=15_000)
            await expect(page.get_by_test_id("pane-parent").get_by_test_id("switch-ahmed")).to_contain_text("2 nieuw")

            # A page opened later shows the same filing.
            await page.reload()
            await expect(page.get_by_test_id("status")).to_have_text("Verbonden", timeout=15_000)
            await expect(tabs.filter(has_text="Gezin Daan")).to_contain_text("(6)")
            await tabs.filter(has_text="Gezin Noor").click()
            await expect(messages.filter(has_text="Sterkte met de zitting!")).to_have_count(0)
        finally:
            await browser.close()
    assert problems == []


async def test_new_messages_are_announced_to_screen_readers_and_alerts_assertively(demo_url: str) -> None:
    from playwright.async_api import expect

    problems: list[str] = []
    async with async_playwright_() as pw:
        browser, page = await open_page(pw, demo_url, problems)
        try:
            parent, maatje, staff = (page.get_by_test_id(f"pane-{k}") for k in ("parent", "maatje", "staff"))
            said, heard, alerts = (
                page.get_by_test_id("announce-parent"),
                page.get_by_test_id("announce-maatje"),
                page.get_by_test_id("alert-staff"),
            )
            for region in (said, heard, page.get_by_test_id("announce-staff")):
                await expect(region).to_have_attribute("aria-live", "polite")
            await expect(alerts).to_have_attribute("aria-live", "assertive")
            await expect(alerts).to_have_attribute("role", "alert")
            for key in ("parent", "maatje", "staff"):  # the lists are redrawn: they must not be live
                assert await page.get_by_test_id(f"messages-{key}").get_attribute("aria-live") is None

            # Some history first; a page loaded afterwards shows it, and announces none of it.
            await parent.get_by_label("Jouw bericht").fill("Hoi Tineke, hoe gaat het met je?")
            await parent.get_by_label("Jouw bericht").press("Enter")
            await expect(heard).to_contain_text("Hoi Tineke, hoe gaat het met je?", timeout=15_000)
            await expect(said).to_be_empty()  # what you type yourself is not read back
            await page.reload()
            await expect(page.get_by_test_id("status")).to_have_text("Verbonden", timeout=15_000)
            await expect(maatje.get_by_test_id("message").filter(has_text="hoe gaat het")).to_be_visible()
            for region in (said, heard, alerts):
                await expect(region).to_be_empty()

            # A keyboard user on a thread tab keeps focus when a new message redraws the tabs.
            noor_tab = maatje.get_by_test_id("thread-tab").filter(has_text="Gezin Noor")
            await noor_tab.focus()
            await page.keyboard.press("Enter")
            await expect(noor_tab).to_have_attribute("aria-pressed", "true")
            await expect(noor_tab).to_be_focused()
            other = await browser.new_page()  # Sanne writes from another window: focus stays put here
            await other.goto(demo_url)
            await expect(other.get_by_test_id("status")).to_have_text("Verbonden", timeout=15_000)
            await other.get_by_test_id("input-parent").fill("Morgen om 10 uur is de zitting.")
            await other.get_by_test_id("input-parent").press("Enter")
            await expect(heard).to_contain_text(
                "Nieuw bericht voor Tineke: 💬 Gezin Noor — Sanne: Morgen om 10 uur", timeout=15_000
            )
            await expect(noor_tab).to_contain_text("(2)")
            await expect(noor_tab).to_be_focused()
            before = await heard.locator("p").count()
            await maatje.get_by_test_id("thread-tab").filter(has_text="Alle gezinnen").click()
            await noor_tab.click()
            assert await heard.locator("p").count() == before  # redrawing a thread announces nothing

            # Tineke answers; Sanne's pane announces it politely.
            relayed = maatje.get_by_test_id("message").filter(has_text="Morgen om 10 uur")
            await relayed.get_by_role("button", name="Beantwoorden").click()
            await maatje.get_by_label("Jouw bericht").fill("Ik ben erbij.")
            await maatje.get_by_label("Jouw bericht").press("Enter")
            await expect(said).to_contain_text("Nieuw bericht voor Sanne: Tineke: Ik ben erbij.", timeout=15_000)

            # Danger: the regisseur's alert is announced assertively, the parent's advice politely.
            await parent.get_by_label("Jouw bericht").fill("Hij slaat me nu en de kinderen zijn erbij")
            await parent.get_by_label("Jouw bericht").press("Enter")
            await expect(alerts).to_contain_text("Melding voor Ruben: 🚨", timeout=15_000)
            await expect(alerts).to_contain_text("Knoppen: Ik pak dit op, Afgehandeld.")
            await expect(said).to_contain_text("112", timeout=15_000)
            await expect(page.get_by_test_id("announce-staff")).not_to_contain_text("🚨")

            # The alert's buttons work from the keyboard.
            alert = staff.get_by_test_id("message").filter(has_text="🚨").first
            take = alert.get_by_role("button", name="Ik pak dit op")
            await take.focus()
            await page.keyboard.press("Enter")
            await expect(said).to_contain_text("Ruben", timeout=15_000)
        finally:
            await browser.close()
    assert problems == []


def async_playwright_():  # noqa: ANN201
    from playwright.async_api import async_playwright

    return async_playwright()
