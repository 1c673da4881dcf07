"""Search and browse in Chromium: a thumbnail grid with real posters and hover scrub, every
result reachable through the pages, sort, facets by name, the address bar as the page's state
(shared links, back and forward), both languages, phone width, a low-rights reader."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.media import make_video
from tests.search.helpers import change_asset, make_asset
from tests.web.conftest import PHONE, VIEWER_PASSWORD, axe_violations, no_horizontal_scroll


def _categories(settings):
    from openwan.catalog import categories
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        news = categories.create(session, "News 新闻")
        sport = categories.create(session, "Sport 体育")
        session.flush()
        return news.id, sport.id


def _real_video(settings, admin, tmp_path, title: str) -> int:
    """A processed video (poster, sprite and its WebVTT index), published."""
    from openwan.assets.importer import import_file
    from openwan.db import unit_of_work
    from openwan.media.worker import Worker
    from openwan.models import Asset

    outcome = import_file(settings, make_video(tmp_path / "night.mp4", seconds=4),
                          user_id=admin.id)
    Worker(settings, reconcile=False).drain(idle_seconds=0.2)
    with unit_of_work(settings) as session:
        asset = session.get(Asset, outcome.asset_id)
        assert asset.media_state == "ready", asset.media_error
        asset.title, asset.status = title, "published"
        asset.published_at = datetime(2026, 6, 1, tzinfo=UTC)
        from openwan.assets.events import asset_changed

        session.flush()
        asset_changed(session, asset)
    return outcome.asset_id


def _no_page_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_browse_every_page_sort_facets_address_bar_and_scrub(signed_in, live_server, settings,
                                                              admin, tmp_path):
    news, sport = _categories(settings)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    for n in range(1, 64):
        make_asset(settings, f"夜景 {n:03d}", type="video" if n % 2 else "image",
                   category_id=news if n % 3 else sport, level=1 if n % 4 else 2,
                   created=start + timedelta(days=9 * n), technical={"duration": n})
    real = _real_video(settings, admin, tmp_path, "夜景 000 real")
    base = live_server.url
    page = signed_in(next="/search?q=%E5%A4%9C%E6%99%AF")
    errors = _no_page_errors(page)
    total = page.locator("#total")
    expect(total).to_have_text("64 results · page 1 of 3")
    cards = page.locator("#results li[data-id]")
    expect(cards).to_have_count(24)

    # The real video's card shows its poster (the API gives each item a thumbnail URL).
    poster = page.locator(f"#results li[data-id='{real}'] img")
    expect(poster).to_have_attribute("src", f"/api/v1/assets/{real}/thumbnail")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=poster.element_handle())

    # Hover scrub: across the picture, tiles of the sprite its WebVTT index names.
    thumb = page.locator(f"#results li[data-id='{real}'] .thumb")
    box = thumb.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] / 2)
    scrub = thumb.locator(".scrub")
    expect(scrub).to_be_visible()
    first_tile = scrub.get_attribute("data-tile")
    assert "sprite.jpg" in scrub.evaluate("n => n.style.backgroundImage")
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    expect(scrub).not_to_have_attribute("data-tile", first_tile)
    page.mouse.move(0, 0)
    expect(scrub).to_be_hidden()

    # Every one of the 64 results through the pages (links with real addresses).
    seen = set(cards.evaluate_all("ns => ns.map(n => n.dataset.id)"))
    page.locator("#pager a", has_text="2").click()
    expect(total).to_have_text("64 results · page 2 of 3")
    assert re.search(r"[?&]page=2", page.url)
    seen |= set(cards.evaluate_all("ns => ns.map(n => n.dataset.id)"))
    page.locator("#pager a[rel=next]").click()
    expect(total).to_have_text("64 results · page 3 of 3")
    expect(cards).to_have_count(16)
    seen |= set(cards.evaluate_all("ns => ns.map(n => n.dataset.id)"))
    assert len(seen) == 64
    assert page.locator("#pager [aria-current=page]").inner_text() == "3"

    # Back and forward walk the searches; the address is the state.
    page.go_back()
    expect(total).to_have_text("64 results · page 2 of 3")
    page.go_forward()
    expect(total).to_have_text("64 results · page 3 of 3")

    # Sort by title: the API's order, kept in the address.
    page.select_option("#sort", "title")
    expect(page).to_have_url(re.compile(r"sort=title"))
    expect(total).to_have_text("64 results · page 1 of 3")
    titles = page.locator("#results .card-title").all_inner_texts()
    assert titles == sorted(titles) and titles[0] == "夜景 000 real"

    # Facets show names (categories, levels, translated types and years) and filter.
    facets = page.locator("#facets")
    expect(facets.locator("[data-facet=category]")).to_have_count(2)
    assert set(facets.locator("[data-facet=category] .facet-name").all_inner_texts()) == {
        "News 新闻", "Sport 体育"}
    assert set(facets.locator("[data-facet=level] .facet-name").all_inner_texts()) == {
        "Public", "Private"}
    assert set(facets.locator("[data-facet=type] .facet-name").all_inner_texts()) == {
        "Video", "Image"}
    assert "2025" in facets.locator("[data-facet=year] .facet-name").all_inner_texts()
    sport_count = int(facets.locator(f"[data-facet=category][data-value='{sport}'] .count")
                      .inner_text())
    facets.locator(f"[data-facet=category][data-value='{sport}']").click()
    expect(total).to_have_text(f"{sport_count} results")
    expect(page).to_have_url(re.compile(f"category_id={sport}"))
    expect(page.locator("#active-filters .chip")).to_have_text(["Sport 体育 ×"])
    facets.locator("[data-facet=type][data-value=video]").click()
    expect(page).to_have_url(re.compile("type=video"))
    assert page.locator("#type").input_value() == "video"
    page.locator("#active-filters .chip.clear").click()
    expect(total).to_have_text("64 results · page 1 of 3")

    # A shared link opens in that state.
    page.goto(f"{base}/search?q=%E5%A4%9C%E6%99%AF&type=video&page=2")
    expect(total).to_have_text("33 results · page 2 of 2")
    assert page.locator("#q").input_value() == "夜景"
    assert page.locator("#type").input_value() == "video"
    expect(cards).to_have_count(9)
    assert axe_violations(page) == []
    # The other language keeps the search as it is now.
    page.locator("#pager a", has_text="1").click()
    expect(total).to_have_text("33 results · page 1 of 2")
    page.click("header a.lang")
    expect(total).to_have_text("共 33 条结果 · 第 1 / 2 页")
    assert page.locator("#type").input_value() == "video"
    assert errors == []


def test_a_viewer_in_chinese_at_phone_width_sees_only_their_groups(signed_in, live_server,
                                                                   settings, viewer):
    user_id, _group_id, open_cat = viewer
    from sqlalchemy import select

    from openwan.db import unit_of_work
    from openwan.models import Category

    with unit_of_work(settings) as session:
        hidden = session.scalar(select(Category.id).where(Category.name == "Hidden 机密"))
    shown = [make_asset(settings, f"夜景 公开 {n}", category_id=open_cat) for n in range(3)]
    secret = make_asset(settings, "夜景 机密 内部", category_id=hidden)
    page = signed_in(lang="zh", viewport=PHONE, username="viewer", password=VIEWER_PASSWORD,
                     next="/search?q=%E5%A4%9C%E6%99%AF")
    errors = _no_page_errors(page)
    expect(page.locator("#total")).to_have_text("共 3 条结果")
    ids = page.locator("#results li[data-id]").evaluate_all("ns => ns.map(n => n.dataset.id)")
    assert sorted(int(i) for i in ids) == sorted(shown)
    body = page.locator("body").inner_text()
    assert "Hidden" not in body and "机密" not in body
    assert page.locator("#facets h2").all_inner_texts()[:2] == ["类型", "分类"]
    assert page.locator("[data-facet=level] .facet-name").all_inner_texts() == ["公开"]
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []

    # Downloads where allowed: the asset's flag and the reader's asset.download permission.
    change_asset(settings, shown[0], download=False)
    page.goto(f"{live_server.url}/assets/{shown[0]}")
    expect(page.locator("#downloads")).to_have_text("此资源不允许您下载。")
    assert page.locator("#download").count() == 0
    assert page.evaluate(f"async () => (await fetch('/api/v1/assets/{shown[0]}/original'))"
                         ".status") == 403
    assert page.locator("#actions button").count() == 0
    assert page.locator("#edit-form input:enabled, #edit-form select:enabled").count() == 0
    page.goto(f"{live_server.url}/assets/{shown[1]}")
    expect(page.locator("#download")).to_have_attribute(
        "href", f"/api/v1/assets/{shown[1]}/original")
    assert no_horizontal_scroll(page)

    # Someone else's asset, or none at all: the not-found page, with a 404.
    for asset_id in (secret, 999_999):
        response = page.goto(f"{live_server.url}/assets/{asset_id}")
        assert response.status == 404
        expect(page.locator("h1")).to_have_text("找不到该页面或资源")
    assert errors == []
