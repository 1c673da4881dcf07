"""The upload page in Chromium: many files at once through Uppy's tus uploader, title and
category at upload, a duplicate found before sending, an interrupted upload resumed after a
reload, pause and cancel, Chinese at phone width, axe-core."""

from __future__ import annotations

import hashlib
import io
import os

from playwright.sync_api import expect
from sqlalchemy import func, select

from openwan.db import unit_of_work
from openwan.models import Asset, Upload
from tests.media import jpeg_bytes, make_video, png_bytes
from tests.web.conftest import PHONE, axe_violations, no_horizontal_scroll


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: about width × height × 3 bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def add_category(settings, name: str) -> int:
    from openwan.catalog import categories

    with unit_of_work(settings) as session:
        category = categories.create(session, name)
        session.flush()
        return category.id


def assets_by_filename(settings) -> dict[str, Asset]:
    with unit_of_work(settings) as session:
        rows = list(session.scalars(select(Asset)))
        for row in rows:
            session.expunge(row)
    return {a.filename: a for a in rows}


def count_uploads(settings) -> int:
    with unit_of_work(settings) as session:
        return session.scalar(select(func.count()).select_from(Upload))


def drop_file(page, name: str, content: bytes, mime: str) -> None:
    """Drag and drop of a file onto the drop zone, as the browser dispatches it."""
    page.evaluate("""([name, bytes, mime]) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], name, { type: mime }));
        const zone = document.getElementById("drop");
        for (const type of ["dragenter", "dragover", "drop"]) zone.dispatchEvent(
            new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }""", [name, list(content), mime])


def test_many_files_at_once_with_title_category_and_an_early_duplicate(
        signed_in, live_server, settings, tmp_path):
    news = add_category(settings, "新闻 News")
    video = make_video(tmp_path / "clip.mp4", seconds=1, size="160x120")
    page = signed_in(next="/upload")
    page.select_option("#category", str(news))
    page.set_input_files("#files", [
        {"name": "夜景.png", "mimeType": "image/png", "buffer": png_bytes(64, 48)},
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(80, 60)},
        {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": video.read_bytes()},
    ])
    rows = page.locator("#queue > li")
    expect(rows).to_have_count(3)
    expect(page.locator("#queue > li[data-state=ready]")).to_have_count(3)
    expect(page.locator("#summary")).to_contain_text("3 files")
    night = page.locator("#queue > li[data-name='夜景.png']")
    night.get_by_label("Title").fill("城市夜景延时摄影")
    expect(night.get_by_label("Category")).to_have_value(str(news))
    page.locator("#queue > li[data-name='photo.jpg']").get_by_label("Category").select_option("")
    page.click("#start")
    # Each file shows its own progress while it goes, and a link to its asset when done.
    expect(page.locator("#queue > li[data-state=done]")).to_have_count(3, timeout=20_000)
    expect(night.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#message")).to_contain_text("All uploads finished")
    found = assets_by_filename(settings)
    assert found["夜景.png"].title == "城市夜景延时摄影" and found["夜景.png"].category_id == news
    assert found["photo.jpg"].title == "photo.jpg" and found["photo.jpg"].category_id is None
    assert found["clip.mp4"].category_id == news and found["clip.mp4"].type == "video"
    href = night.locator("a.asset-link").get_attribute("href")
    assert href == f"/assets/{found['夜景.png'].id}"

    # The same bytes again, dropped under another name: hashed in the browser and shown as
    # the existing asset before any upload is created.
    uploads_before = count_uploads(settings)
    drop_file(page, "again.png", png_bytes(64, 48), "image/png")
    again = page.locator("#queue > li[data-name='again.png']")
    expect(again).to_have_attribute("data-state", "duplicate")
    expect(again.locator("a.asset-link")).to_have_attribute("href", href)
    expect(again.locator("a.asset-link")).to_have_text("城市夜景延时摄影")
    expect(page.locator("#start")).to_be_disabled()
    assert count_uploads(settings) == uploads_before


def test_an_interrupted_upload_resumes_after_a_reload(signed_in, live_server, settings,
                                                      tmp_path):
    content = noise_png(700, 600)  # ~1.2 MB
    # A file on disk: picked again, it is the same file (name, size, modification time).
    big = tmp_path / "big.png"
    big.write_bytes(content)
    page = signed_in(next="/upload")
    # Small PATCHes on a slow line: the reload comes half-way through.
    page.evaluate("localStorage.setItem('openwan.upload.chunkSize', String(128 * 1024))")
    page.reload()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 5, "downloadThroughput": -1,
        "uploadThroughput": 400 * 1024})
    page.set_input_files("#files", str(big))
    row = page.locator("#queue > li[data-name='big.png']")
    expect(row).to_have_attribute("data-state", "ready")
    page.click("#start")
    page.wait_for_function(
        "() => { const p = document.querySelector('#queue > li[data-name=\"big.png\"] progress');"
        " return p && p.value >= 25; }", timeout=15_000)
    # Pause holds it; the status says so.
    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-state", "paused")
    page.reload()

    unfinished = page.locator("#unfinished > li[data-name='big.png']")
    expect(unfinished).to_be_visible()
    sent = int(unfinished.locator("progress").get_attribute("value"))
    assert 0 < sent < 100
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    # The wrong file is refused; the same file goes on from where it stopped.
    with page.expect_file_chooser() as chooser:
        unfinished.get_by_role("button", name="Resume…").click()
    chooser.value.set_files([{"name": "other.png", "mimeType": "image/png",
                              "buffer": png_bytes(8, 8)}])
    expect(page.locator("#message")).to_contain_text("not the same file")
    with page.expect_file_chooser() as chooser:
        unfinished.get_by_role("button", name="Resume…").click()
    chooser.value.set_files(str(big))
    expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    expect(page.locator("#unfinished-box")).to_be_hidden()
    asset = assets_by_filename(settings)["big.png"]
    assert asset.sha256 == hashlib.sha256(content).hexdigest() and asset.size == len(content)
    assert count_uploads(settings) == 1  # resumed, not started again
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::')).length") == 0


def test_cancel_ends_the_upload_on_the_server(signed_in, live_server, settings):
    page = signed_in(next="/upload")
    page.evaluate("localStorage.setItem('openwan.upload.chunkSize', String(64 * 1024))")
    page.reload()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 5, "downloadThroughput": -1,
        "uploadThroughput": 200 * 1024})
    page.set_input_files("#files", [{"name": "slow.png", "mimeType": "image/png",
                                     "buffer": noise_png(400, 400)}])
    row = page.locator("#queue > li[data-name='slow.png']")
    expect(row).to_have_attribute("data-state", "ready")
    page.click("#start")
    expect(row).to_have_attribute("data-state", "uploading")
    expect(row.locator(".state")).to_contain_text("/s")  # the speed
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(0)
    expect(page.locator("#message")).to_contain_text("Cancelled: slow.png")
    page.wait_for_function("() => !Object.keys(localStorage).some(k => k.startsWith('tus::'))")
    page.wait_for_timeout(300)
    assert count_uploads(settings) == 0 and "slow.png" not in assets_by_filename(settings)


def test_without_hashing_in_the_browser_the_servers_409_names_the_duplicate(
        contexts, signed_in, live_server, settings):
    first = signed_in(next="/upload")
    first.set_input_files("#files", [{"name": "a.png", "mimeType": "image/png",
                                      "buffer": png_bytes(30, 30)}])
    first.click("#start")
    expect(first.locator("#queue > li[data-state=done]")).to_have_count(1)
    asset_id = assets_by_filename(settings)["a.png"].id
    # A browser without crypto.subtle (an insecure origin, an old browser) sends the file;
    # the server refuses it when the last byte lands, naming the asset.
    first.context.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined })")
    first.reload()
    first.set_input_files("#files", [{"name": "b.png", "mimeType": "image/png",
                                      "buffer": png_bytes(30, 30)}])
    row = first.locator("#queue > li[data-name='b.png']")
    expect(row).to_have_attribute("data-state", "ready")
    first.click("#start")
    expect(row).to_have_attribute("data-state", "duplicate")
    expect(row.locator("a.asset-link")).to_have_attribute("href", f"/assets/{asset_id}")
    assert "b.png" not in assets_by_filename(settings)


def editor(settings, category_id: int) -> tuple[str, str]:
    """An uploader whose group is bound to one category."""
    from openwan.access import rights, service
    from openwan.db import unit_of_work
    from openwan.models import User

    password = "Cutting-Room-Pass-77"
    with unit_of_work(settings) as session:
        actor = session.scalars(select(User).where(User.username == "admin")).one()
        group = rights.create_group(session, actor, name="editors", roles=["EDITOR"],
                                    categories=[category_id])
        session.flush()
        service.create_user(session, "editor", password, level=1, groups=[group.id])
    return "editor", password


def test_upload_page_in_chinese_at_phone_width_passes_axe(signed_in, live_server, settings):
    sports = add_category(settings, "体育")
    add_category(settings, "机密档案")
    username, password = editor(settings, sports)
    page = signed_in(lang="zh", viewport=PHONE, next="/upload", username=username,
                     password=password)
    assert page.title().startswith("上传")
    expect(page.locator("#choose")).to_have_text("选择文件…")
    page.set_input_files("#files", [{"name": "很长的文件名-城市夜景-延时摄影-2026.png",
                                     "mimeType": "image/png", "buffer": png_bytes(20, 20)}])
    expect(page.locator("#queue > li[data-state=ready]")).to_have_count(1)
    expect(page.locator("#queue .state")).to_have_text("等待上传")
    # Only the categories the uploader may file under (and none).
    options = page.locator("#queue > li").get_by_label("分类").locator("option")
    expect(options).to_have_text(["不分类", "体育"])
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []
