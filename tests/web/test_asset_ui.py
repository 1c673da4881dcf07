"""The asset page in Chromium: the typed catalogue form (every kind of field, invalid values,
clearing), the workflow with its dialogs, a video followed from processing to playing, every
page of a PDF, image zoom, the audio waveform, the technical table and downloads."""

from __future__ import annotations

import threading
import time

from playwright.sync_api import expect

from tests.media import ffmpeg, make_video
from tests.search.helpers import change_asset, make_asset
from tests.web.conftest import PHONE, axe_violations, no_horizontal_scroll

GROUP = "测试"


def _fields(settings) -> None:
    """A document field group with one field of every kind, one of them required."""
    from openwan.catalog import fields
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        group = fields.create(session, {"media_type": "document", "kind": "group",
                                        "name_zh": GROUP, "name_en": "Testing", "weight": 1000})
        for key, name_en, kind, extra in [
                ("地点", "Place", "text", {}), ("内容摘要", "Summary", "longtext", {}),
                ("时长分钟", "Minutes", "number", {}), ("拍摄日期", "Shot on", "date", {}),
                ("画质", "Quality", "choice", {"choices": ["高清", "标清"]}),
                ("主题", "Subjects", "multichoice", {"choices": ["新闻", "体育", "文化"]}),
                ("责任者", "Responsible", "text", {"required": True})]:
            fields.create(session, {"media_type": "document", "kind": kind, "parent_id": group.id,
                                    "key": key, "name_zh": key, "name_en": name_en, **extra})


def _metadata(page, asset_id: int) -> dict:
    return page.evaluate(f"async () => (await (await fetch('/api/v1/assets/{asset_id}')).json())"
                         ".metadata")


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_catalogue_every_field_type_and_the_workflow(signed_in, live_server, settings, admin):
    from openwan.catalog import categories
    from openwan.db import unit_of_work

    _fields(settings)
    with unit_of_work(settings) as session:
        parent = categories.create(session, "Archive 档案")
        session.flush()
        archive = categories.create(session, "1998", parent.id).id
    asset_id = make_asset(settings, "Catalogue test", type="document", status="new",
                          uploaded_by=admin.id,
                          catalog={GROUP: {"地点": "北京", "责任者": "张三"}})
    page = signed_in(next=f"/assets/{asset_id}")
    errors = _errors(page)
    assert page.title() == "Catalogue test · OpenWan"
    place, minutes = page.get_by_label("Place"), page.get_by_label("Minutes")
    shot, quality = page.get_by_label("Shot on"), page.get_by_label("Quality")
    subjects, responsible = page.get_by_label("Subjects"), page.get_by_label("Responsible")
    expect(place).to_have_value("北京")
    expect(responsible).to_have_value("张三")
    assert responsible.get_attribute("aria-required") == "true"
    assert "(required)" in page.locator("label", has=page.locator(".req")).first.inner_text()
    assert page.get_by_label("Summary").evaluate("n => n.tagName") == "TEXTAREA"
    assert subjects.evaluate("n => n.multiple") is True
    save = page.locator("#save")

    # Invalid values: errors beside their fields, translated; nothing is sent.
    minutes.fill("abc")
    shot.fill("2024-13-40")
    save.click()
    minute_error = page.locator(f"#{minutes.get_attribute('id')}-error")
    date_error = page.locator(f"#{shot.get_attribute('id')}-error")
    expect(minute_error).to_have_text("Enter a number, e.g. 12 or 3.5.")
    expect(date_error).to_contain_text("Enter a real date")
    expect(minutes).to_have_attribute("aria-invalid", "true")
    assert _metadata(page, asset_id)[GROUP] == {"地点": "北京", "责任者": "张三"}
    assert axe_violations(page) == []

    # Fixing one leaves the other's error in place until it is fixed too.
    minutes.fill("12.5")
    save.click()
    expect(minute_error).to_be_hidden()
    expect(date_error).to_be_visible()
    shot.fill("2024-05-01")
    quality.select_option("高清")
    subjects.select_option(["新闻", "文化"])
    page.get_by_label("Summary").fill("夜景延时摄影，\n城市天际线。")
    page.select_option("#edit-category", label="Archive 档案 / 1998")
    save.click()
    expect(page.locator("#save-status")).to_have_text("Saved")
    expect(page.locator("#facts")).to_contain_text("Archive 档案 / 1998")
    assert page.evaluate(f"async () => (await (await fetch('/api/v1/assets/{asset_id}'))"
                         ".json()).category_id") == archive
    expect(date_error).to_be_hidden()
    assert _metadata(page, asset_id)[GROUP] == {
        "地点": "北京", "责任者": "张三", "时长分钟": 12.5, "拍摄日期": "2024-05-01",
        "画质": "高清", "主题": ["新闻", "文化"], "内容摘要": "夜景延时摄影，\n城市天际线。"}

    # Clearing a field clears it (null), a multichoice too.
    place.fill("")
    subjects.select_option([])
    quality.select_option("")
    save.click()
    expect(page.locator("#save-status")).to_have_text("Saved")
    stored = _metadata(page, asset_id)[GROUP]
    assert "地点" not in stored and "主题" not in stored and "画质" not in stored
    # The server's refusal (a required field emptied) is shown beside that field.
    responsible.fill("")
    save.click()
    responsible_error = page.locator(f"#{responsible.get_attribute('id')}-error")
    expect(responsible_error).to_have_text("This field is required and cannot be empty.")
    assert _metadata(page, asset_id)[GROUP]["责任者"] == "张三"
    responsible.fill("李四")
    save.click()
    expect(responsible_error).to_be_hidden()
    assert _metadata(page, asset_id)[GROUP]["责任者"] == "李四"

    # The workflow: submit, send back with a comment (a dialog that insists), submit, approve.
    actions = page.locator("#actions")
    actions.locator("[data-action=submit]").click()
    expect(page.locator("#facts")).to_contain_text("Awaiting review")
    actions.locator("[data-action=reject]").click()
    dialog = page.locator("#reject-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#reject-error")).to_have_text("Write a comment saying what to fix.")
    page.fill("#reject-comment", "请补充拍摄地点")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#review-comment")).to_contain_text("请补充拍摄地点")
    expect(actions.locator("[data-action=reject]")).to_have_count(0)
    actions.locator("[data-action=submit]").click()
    actions.locator("[data-action=approve]").click()
    page.select_option("#approve-level", "2")
    page.locator("#approve-dialog button[type=submit]").click()
    expect(page.locator("#facts")).to_contain_text("Published")
    expect(page.locator("#facts")).to_contain_text("Private")
    # Delete asks first; the recycle bin's asset can be restored.
    actions.locator("[data-action=delete]").click()
    page.locator("#delete-dialog button[data-close]").click()
    expect(page.locator("#facts")).to_contain_text("Published")
    actions.locator("[data-action=delete]").click()
    page.locator("#delete-dialog button[type=submit]").click()
    expect(page.locator("#facts")).to_contain_text("Deleted")
    actions.locator("[data-action=restore]").click()
    expect(page.locator("#facts")).to_contain_text("Published")

    # Processing that failed can be started again from the page.
    change_asset(settings, asset_id, media_state="failed", media_error="the file is damaged")
    page.reload()
    expect(page.locator("#facts")).to_contain_text("the file is damaged")
    actions.locator("[data-action=reprocess]").click()
    expect(page.locator("#processing")).to_be_visible()
    expect(page.locator("#facts")).to_contain_text("Queued")
    assert errors == []


def test_a_video_goes_from_processing_to_playing_without_a_reload(signed_in, live_server,
                                                                  settings, admin, tmp_path):
    from openwan.assets.importer import import_file
    from openwan.media.worker import Worker

    clip = make_video(tmp_path / "城市夜景.mp4", seconds=4)
    page = signed_in(next="/search")
    errors = _errors(page)
    uploaded = time.monotonic()
    asset_id = import_file(settings, clip, user_id=admin.id).asset_id
    page.goto(f"{live_server.url}/assets/{asset_id}")
    expect(page.locator("#processing")).to_be_visible()
    assert page.title() == "城市夜景.mp4 · OpenWan"

    worker = threading.Thread(target=lambda: Worker(settings, reconcile=False).drain(
        idle_seconds=0.2))
    worker.start()
    video = page.locator("video#player")
    video.wait_for(timeout=60_000)
    page.evaluate("""() => new Promise((resolve, reject) => {
        const v = document.getElementById('player');
        v.muted = true;
        v.addEventListener('timeupdate', () => v.currentTime > 0 && resolve(), {once: false});
        v.play().catch(reject);
    })""")
    first_frame = time.monotonic() - uploaded
    worker.join(30)
    print(f"\nupload complete → first frame playing: {first_frame:.2f} s")
    expect(page.locator("#processing")).to_be_hidden()

    # Scrub thumbnails along the player: a tile seeks there.
    tiles = page.locator("#strip .tile")
    assert tiles.count() >= 4
    tiles.nth(3).click()
    start = float(tiles.nth(3).get_attribute("data-start"))
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start})"
                           " < 1.0")
    # Technical metadata as a table, not JSON.
    table = page.locator("#technical")
    expect(table.locator("tr", has_text="Video codec")).to_contain_text("h264")
    expect(table.locator("tr", has_text="Duration").first).to_contain_text("0:04")
    assert "{" not in table.inner_text()
    # Downloads: the original and each rendition.
    original = page.locator("#download")
    assert original.get_attribute("href") == f"/api/v1/assets/{asset_id}/original"
    assert page.locator("#downloads a[data-kind=poster]").count() == 1
    for link in [original, page.locator("#downloads a[data-kind=preview]")]:
        href = link.get_attribute("href")
        assert page.evaluate(f"async () => (await fetch({href!r})).status") == 200
    assert axe_violations(page) == []
    assert errors == []


def _pdf(path, pages: int):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    images = [Image.new("RGB", (300, 400), (255, 255, 255 - 40 * n)) for n in range(pages)]
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:])
    path.write_bytes(buffer.getvalue())
    return path


def test_pdf_pages_image_zoom_and_waveform_in_chinese_at_phone_width(signed_in, live_server,
                                                                      settings, admin,
                                                                      tmp_path):
    from PIL import Image

    from openwan.assets.importer import import_file
    from openwan.media.worker import Worker

    Image.new("RGB", (1200, 800), (30, 90, 160)).save(tmp_path / "photo.jpg")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=2", str(tmp_path / "tone.wav"))
    ids = {name: import_file(settings, path, user_id=admin.id).asset_id for name, path in [
        ("pdf", _pdf(tmp_path / "report.pdf", 3)), ("image", tmp_path / "photo.jpg"),
        ("audio", tmp_path / "tone.wav")]}
    Worker(settings, reconcile=False).drain(idle_seconds=0.2)
    base = live_server.url
    page = signed_in(lang="zh", viewport=PHONE, next=f"/assets/{ids['pdf']}")
    errors = _errors(page)
    pages = page.locator("#preview .pages img")
    expect(pages).to_have_count(3)
    expect(pages.nth(2)).to_have_attribute("alt", "第 3 页，共 3 页")
    for n in range(3):
        pages.nth(n).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth === 1050",
                               arg=pages.nth(n).element_handle())
    expect(page.locator("#technical tr", has_text="页数")).to_contain_text("3")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []

    page.goto(f"{base}/assets/{ids['image']}")
    page.locator("#zoom-open").click()
    zoomed = page.locator("#zoom-dialog #zoom-image")
    expect(zoomed).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1200",
                           arg=zoomed.element_handle())
    page.locator("#zoom-toggle").click()
    expect(page.locator("#zoom-view")).to_have_class("zoom-view actual")
    assert zoomed.evaluate("n => n.getBoundingClientRect().width") == 1200
    page.keyboard.press("Escape")
    expect(zoomed).to_be_hidden()
    assert no_horizontal_scroll(page)

    page.goto(f"{base}/assets/{ids['audio']}")
    wave = page.locator("#waveform")
    wave.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1800",
                           arg=wave.element_handle())
    assert page.locator("audio#player").count() == 1
    expect(page.locator("#technical tr", has_text="音频编码")).to_contain_text("pcm_s16le")
    assert no_horizontal_scroll(page)
    assert errors == []
