"""The operator console in a real browser: sign in, vessels move, a distress alert arrives and is
acknowledged, a track is played back; the drill banner; Chinese; the admin's zone editor."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import MakeToken
from tests.console.conftest import Console, open_console, screenshot_path

pytestmark = pytest.mark.browser

SHANWEI_OFFSHORE = (115.40, 22.68)  # at sea, 5 km off Shanwei port


async def vessel_screen_position(page: Page, vessel_id: int) -> tuple[float, float]:
    # Each report replaces the marker's icon element; between two, the element may be detached.
    for _ in range(50):
        box = await page.locator(f'svg[data-vessel="{vessel_id}"]').bounding_box()
        if box is not None:
            return box["x"], box["y"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"vessel {vessel_id} is not on the map")


async def test_a_dispatcher_sees_vessels_move_acknowledges_a_distress_and_plays_back_a_track(
    console: Console, browser: Browser, make_token: MakeToken
) -> None:
    page = await open_console(browser, console, await make_token("dispatcher"))
    await expect(page.locator("#who")).to_contain_text("dispatcher")
    # The offline coast is drawn: land polygons in the coast pane.
    await expect(page.locator(".leaflet-coast-pane path").first).to_be_attached(timeout=10000)

    # Zoom in to harbour scale so vessels are not clustered, then let two vessels sail.
    await page.evaluate("() => window.seawatchMap.setView([22.69, 115.38], 13)")
    first_id = await console.add_vessel("Yue Shanwei Yu 12345")
    console.sail(first_id, "Yue Shanwei Yu 12345", *SHANWEI_OFFSHORE, course=60, speed_kn=9)
    console.sail(
        await console.add_vessel("Yue Shanwei Yu 20817"),
        "Yue Shanwei Yu 20817",
        115.35,
        22.70,
        course=200,
        speed_kn=6,
    )
    marker = page.locator(f'svg[data-vessel="{first_id}"]')
    await expect(marker).to_be_visible(timeout=10000)
    first = await vessel_screen_position(page, first_id)
    await asyncio.sleep(1.5)
    second = await vessel_screen_position(page, first_id)
    assert first != second, "the vessel marker did not move"
    await expect(marker).to_have_attribute("data-state", "underway")

    # A distress alert arrives live: it is at the top of the panel, critical, and the alarm sounds.
    await console.raise_distress(first_id, "Yue Shanwei Yu 12345", *SHANWEI_OFFSHORE)
    card = page.locator("article.alert").first
    await expect(card).to_have_attribute("data-severity", "critical", timeout=10000)
    await expect(card).to_contain_text("Distress")
    await expect(marker).to_have_attribute("data-state", "critical")
    assert await page.evaluate("() => window.seawatchAlarms || 0") >= 1
    await page.screenshot(path=str(screenshot_path("distress")))

    await card.locator("button[data-action=ack]").click()
    await expect(card).to_have_attribute("data-state", "acknowledged", timeout=10000)
    assert (
        await console.store.get(int(await card.get_attribute("data-alert-id") or 0))
    ).state == "acknowledged"

    # The vessel panel and playback of the track seen so far.
    await marker.click()
    await expect(page.locator("#panel-vessel .vessel-name")).to_contain_text("Yue Shanwei Yu 12345")
    await expect(page.locator("#play-track")).to_be_enabled(timeout=10000)
    await page.click("#play-track")
    await expect(page.locator("#playback")).to_be_visible()
    slider = page.locator("#playback-slider")
    last = int(await slider.get_attribute("max") or 0)
    assert last >= 2
    await slider.fill(str(last))
    await expect(page.locator("#playback-time")).to_have_attribute("data-index", str(last))
    await page.click("#playback-play")
    await expect(page.locator("#playback-time")).not_to_have_attribute("data-index", str(last), timeout=5000)
    await page.screenshot(path=str(screenshot_path("playback")))

    # A port call recorded by the tracker is announced.
    async with console.services.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO port_calls (vessel_id, zone_id, zone_name, zone_kind, arrived_at, arrival_method)"
            " VALUES (%s, 'shanwei-port', 'Shanwei Port', 'harbour', now(), 'track')",
            (first_id,),
        )
    await expect(page.locator(".toast").last).to_contain_text("arrived at Shanwei Port", timeout=10000)
    await expect(page.locator("#panel-vessel")).to_contain_text("Shanwei Port")
    assert page.seawatch_errors == []  # type: ignore[attr-defined]


async def test_a_viewer_in_chinese_sees_the_drill_banner_and_no_actions(
    console: Console, browser: Browser, make_token: MakeToken
) -> None:
    page = await open_console(browser, console, await make_token("viewer"), lang="zh-CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.locator("[data-tab=alerts]")).to_contain_text("警报")
    await expect(page.locator("#drill-banner")).to_be_hidden()

    await page.evaluate("() => window.seawatchMap.setView([22.69, 115.38], 13)")
    drill_vessel = await console.add_vessel("演习船 1")
    console.move(drill_vessel, "演习船 1", *SHANWEI_OFFSHORE, course=90, speed=5, drill=True)
    await console.raise_distress(drill_vessel, "演习船 1", *SHANWEI_OFFSHORE, drill=True)
    await expect(page.locator("#drill-banner")).to_be_visible(timeout=10000)
    await expect(page.locator("#drill-banner")).to_contain_text("演习")
    card = page.locator("article.alert").first
    await expect(card).to_contain_text("演习")
    # The rule's English title on hover; the card's own words in Chinese.
    await expect(card.locator(".alert-title")).to_have_text("遇险求救：演习船 1")
    await expect(card.locator("button[data-action]")).to_have_count(0)  # a viewer only reads
    await expect(page.locator("[data-tab=users]")).to_be_hidden()
    await page.click("[data-tab=zones]")
    await expect(page.locator("#panel-zones")).to_contain_text("汕尾港")
    await expect(page.locator("#zone-new")).to_have_count(0)
    await page.click("[data-tab=alerts]")
    await page.screenshot(path=str(screenshot_path("drill-zh")))

    await page.click(".top button.lang-switch")
    await expect(page.locator("#drill-banner")).to_contain_text("DRILL")
    title = await card.locator(".alert-title").get_attribute("title")
    await expect(card.locator(".alert-title")).to_have_text(title or "")
    assert page.seawatch_errors == []  # type: ignore[attr-defined]


async def test_an_admin_draws_a_zone_and_adds_a_user(
    console: Console, browser: Browser, make_token: MakeToken
) -> None:
    page = await open_console(browser, console, await make_token("admin"))
    await page.click("[data-tab=zones]")
    await page.click("#zone-new")
    map_box = await page.locator("#map").bounding_box()
    assert map_box is not None
    x, y = map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2
    for dx, dy in ((-60, -40), (60, -40), (60, 40), (-60, 40)):
        await page.mouse.click(x + dx, y + dy)
    editor = page.locator("#zone-editor")
    await editor.locator("input[name=id]").fill("test-closure")
    await editor.locator("input[name=name]").fill("Temporary closure")
    await editor.locator("select[name=kind]").select_option("restricted")
    await editor.locator("button[type=submit]").click()
    await expect(page.locator('[data-zone-id="test-closure"]')).to_contain_text(
        "Temporary closure", timeout=10000
    )
    async with console.services.pool.connection() as conn:
        cur = await conn.execute("SELECT kind, geometry FROM zones WHERE id = 'test-closure'")
        row = await cur.fetchone()
    assert row is not None and row[0] == "restricted"
    assert len(row[1]["coordinates"][0]) == 5  # four corners, closed

    await page.click("[data-tab=users]")
    await page.click("#panel-users .panel-tools button")
    await page.fill("dialog input[name=name]", "duty-officer")
    await page.select_option("dialog select[name=role]", "dispatcher")
    await page.click("dialog button[type=submit]")
    token = await page.locator("dialog textarea.token-out").input_value()
    assert len(token) >= 40
    await page.screenshot(path=str(screenshot_path("admin-users")))
    await page.click("dialog button[type=submit]")
    await expect(page.locator('[data-user="duty-officer"]')).to_be_visible()
    # An admin manages, but does not handle alerts.
    await console.raise_distress(await console.add_vessel("Yue 1"), "Yue 1", *SHANWEI_OFFSHORE)
    await page.click("[data-tab=alerts]")
    await expect(page.locator("article.alert")).to_have_count(1, timeout=10000)
    await expect(page.locator("article.alert button[data-action]")).to_have_count(0)
    assert page.seawatch_errors == []  # type: ignore[attr-defined]


def gale_warning(now: datetime) -> bytes:
    """A CAP 1.2 gale warning for Shanwei waters, in force from an hour ago until tomorrow."""
    sent = (now - timedelta(hours=1)).isoformat(timespec="seconds")
    expires = (now + timedelta(days=1)).isoformat(timespec="seconds")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>SW-GALE-TEST-1</identifier><sender>gd-shanwei-met@example.cn</sender><sent>{sent}</sent>
<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>zh-CN</language><category>Met</category><event>大风预警</event><urgency>Expected</urgency>
<severity>Severe</severity><certainty>Likely</certainty><expires>{expires}</expires>
<headline>汕尾近海大风橙色预警</headline>
<area><areaDesc>Shanwei coastal waters</areaDesc>
<polygon>22.3,115.0 22.3,116.0 22.9,116.0 22.9,115.0 22.3,115.0</polygon></area></info>
</alert>""".encode()


async def test_an_operator_sees_the_weather_warning_in_force(
    console: Console, browser: Browser, make_token: MakeToken
) -> None:
    token = await make_token("operator")
    page = await open_console(browser, console, token)
    async with httpx.AsyncClient(base_url=console.url) as http:
        posted = await http.post(
            "/api/weather/cap",
            content=gale_warning(datetime.now(UTC)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
        )
    assert posted.status_code == 201, posted.text
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    await page.click("[data-tab=weather]")
    await expect(page.locator("#panel-weather .warning")).to_contain_text(
        "汕尾近海大风橙色预警", timeout=10000
    )
    await expect(page.locator("#weather-count")).to_have_text("1")
    # The warning's area is drawn on the map, one outline for its one polygon.
    await expect(page.locator("path.weather-area")).to_have_count(1)
    await page.screenshot(path=str(screenshot_path("weather")))
    assert page.seawatch_errors == []  # type: ignore[attr-defined]
