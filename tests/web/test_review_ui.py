"""The review queue and the recycle bin in Chromium: previews, approve with level, groups and
download, send back with a required comment, batch actions over the bulk endpoint, keyboard
shortcuts, delete with confirmation, restore and purge; Chinese at phone width, axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from openwan.db import unit_of_work
from openwan.models import Asset, Rendition
from openwan.storage import get_storage
from tests.access.world import add_asset
from tests.media import jpeg_bytes
from tests.web.conftest import PHONE, axe_violations, no_horizontal_scroll


def make_assets(settings, admin, *titles: str, status: str = "pending") -> dict[str, int]:
    storage = get_storage(settings)
    with unit_of_work(settings) as session:
        made = {t: add_asset(session, uploader=admin, status=status, title=t, storage=storage)
                for t in titles}
        for asset in made.values():
            if status == "deleted":
                asset.previous_status = "published"
        return {t: a.id for t, a in made.items()}


def add_poster(settings, asset_id: int) -> None:
    storage = get_storage(settings)
    key = f"thumbnails/{asset_id}/poster.jpg"
    storage.put_bytes(key, jpeg_bytes(160, 90), "image/jpeg")
    with unit_of_work(settings) as session:
        session.add(Rendition(asset_id=asset_id, kind="poster", name="poster", format="jpg",
                              content_type="image/jpeg", storage_key=key, size=1,
                              width=160, height=90))


def add_group(settings, admin, name: str) -> int:
    from openwan.access import rights
    from openwan.models import User

    with unit_of_work(settings) as session:
        group = rights.create_group(session, session.get(User, admin.id), name=name,
                                    roles=["NORMAL"], categories="all")
        session.flush()
        return group.id


def asset(settings, asset_id: int) -> Asset | None:
    with unit_of_work(settings) as session:
        row = session.get(Asset, asset_id)
        if row is not None:
            session.expunge(row)
        return row


def test_review_approve_reject_batch_and_keys(signed_in, live_server, settings, admin):
    ids = make_assets(settings, admin, "A 新闻联播", "B 天气预报", "C 体育", "D 电影", "E 纪录片",
                      "F 音乐")
    add_poster(settings, ids["A 新闻联播"])
    fresh = make_assets(settings, admin, "G 新上传", status="new")["G 新上传"]
    news = add_group(settings, admin, "news viewers")
    page = signed_in(next="/review")
    cards = page.locator("#review-list > li")
    expect(cards).to_have_count(6)
    # Submitted (as the asset page does it) → in the queue.
    status = page.evaluate("""async (id) => (await fetch(`/api/v1/assets/${id}/submit`, {
        method: "POST", headers: {"X-CSRF-Token": document.cookie.match(/openwan_csrf=([^;]+)/)[1]}
    })).status""", fresh)
    assert status == 200
    page.reload()
    expect(cards).to_have_count(7)
    expect(page.locator("#queue-summary")).to_have_text("7 awaiting review")
    expect(page.locator(f"#review-list > li[data-id='{fresh}'] h2")).to_have_text("G 新上传")
    card_a = page.locator(f"#review-list > li[data-id='{ids['A 新闻联播']}']")
    page.wait_for_function(
        f"() => {{ const i = document.querySelector(\"li[data-id='{ids['A 新闻联播']}'] img\");"
        " return i && i.complete && i.naturalWidth === 160; }")

    # A: approved with a level, one group and no download, from its card.
    card_a.get_by_role("button", name="Approve and publish").click()
    dialog = page.locator("#approve-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Level")).to_be_focused()
    dialog.get_by_label("Level").select_option("3")
    expect(dialog.get_by_label("Level").locator("option[value='5']")).to_have_text("5 · Top secret")
    dialog.get_by_label("news viewers").check()
    dialog.get_by_label("Downloading the original allowed").uncheck()
    dialog.get_by_role("button", name="Approve and publish").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#message")).to_have_text("1 approved")
    expect(cards).to_have_count(6)
    a = asset(settings, ids["A 新闻联播"])
    assert (a.status, a.level, a.groups, a.download) == ("published", 3, [news], False)

    # B: sending back needs a comment, asked in the page's language, not by prompt().
    page.locator(f"#review-list > li[data-id='{ids['B 天气预报']}']").get_by_role(
        "button", name="Send back").click()
    dialog = page.locator("#reject-dialog")
    expect(dialog.get_by_label("Comment")).to_be_focused()
    dialog.get_by_role("button", name="Send back").click()
    expect(dialog.locator("#reject-error")).to_have_text("A comment is required.")
    expect(dialog).to_be_visible()
    assert asset(settings, ids["B 天气预报"]).status == "pending"
    dialog.get_by_label("Comment").fill("题名不完整")
    dialog.get_by_role("button", name="Send back").click()
    expect(page.locator("#message")).to_have_text("1 sent back")
    b = asset(settings, ids["B 天气预报"])
    assert b.status == "rejected" and b.review_comment == "题名不完整"

    # Keys: j/k move, x selects, d asks before deleting (Escape keeps them).
    expect(cards).to_have_count(5)
    order = [int(x) for x in cards.evaluate_all("els => els.map(e => e.dataset.id)")]
    cards.nth(0).focus()
    page.keyboard.press("j")
    expect(cards.nth(1)).to_be_focused()
    expect(cards.nth(1)).to_have_class("current")
    page.keyboard.press("k")
    expect(cards.nth(0)).to_be_focused()
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.keyboard.press("d")
    confirm = page.locator("#delete-dialog")
    expect(confirm).to_contain_text("2 assets will be moved to the recycle bin")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    assert asset(settings, order[0]).status == "pending"
    page.keyboard.press("d")
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator("#message")).to_have_text("2 moved to the recycle bin")
    assert [asset(settings, i).status for i in order[:2]] == ["deleted", "deleted"]
    expect(cards).to_have_count(3)
    expect(page.locator("#review-list > li.current")).to_be_focused()

    # a approves the current one; the rest as a batch: select all, approve selected.
    by_key = int(page.locator("#review-list > li.current").get_attribute("data-id"))
    page.keyboard.press("a")
    dialog = page.locator("#approve-dialog")
    expect(dialog.locator("#approve-what")).to_have_text(re.compile("^“.+”$"))
    dialog.get_by_role("button", name="Approve and publish").click()
    expect(cards).to_have_count(2)
    page.locator("#select-all").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.locator("#batch-approve").click()
    dialog = page.locator("#approve-dialog")
    expect(dialog.locator("#approve-what")).to_have_text("2 assets")
    # The dialog keeps the last decision's level (quick runs of alike assets).
    expect(dialog.get_by_label("Level")).to_have_value("3")
    dialog.get_by_label("All groups").check()
    dialog.get_by_label("Downloading the original allowed").check()
    dialog.get_by_role("button", name="Approve and publish").click()
    expect(page.locator("#message")).to_have_text("2 approved")
    expect(page.locator("#queue-summary")).to_have_text("Nothing is awaiting review.")
    # The one approved with a took the dialog's last choices (level 3, one group, no download).
    done = asset(settings, by_key)
    assert (done.status, done.level, done.groups, done.download) == ("published", 3, [news], False)
    for i in set(order[2:]) - {by_key}:
        done = asset(settings, i)
        assert (done.status, done.level, done.groups, done.download) == ("published", 3, "all",
                                                                         True)


def test_recycle_bin_restores_and_purges_after_confirmation(signed_in, live_server, settings,
                                                            admin):
    ids = make_assets(settings, admin, "旧节目", "废弃素材", status="deleted")
    gone = asset(settings, ids["废弃素材"])
    storage = get_storage(settings)
    page = signed_in(next="/bin")
    rows = page.locator("#bin-list > li")
    expect(rows).to_have_count(2)
    expect(page.locator("#bin-summary")).to_have_text("2 in the recycle bin")

    page.locator(f"#bin-list > li[data-id='{ids['旧节目']}']").get_by_role(
        "button", name="Restore").click()
    expect(page.locator("#message")).to_have_text("Restored: 旧节目")
    assert asset(settings, ids["旧节目"]).status == "published"
    expect(rows).to_have_count(1)

    row = page.locator(f"#bin-list > li[data-id='{ids['废弃素材']}']")
    row.get_by_role("button", name="Delete for good").click()
    dialog = page.locator("#purge-dialog")
    expect(dialog).to_contain_text("“废弃素材” and all its previews will be removed for good")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("button", name="Delete for good")).to_be_focused()
    assert asset(settings, ids["废弃素材"]) is not None
    row.get_by_role("button", name="Delete for good").click()
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.locator("#message")).to_have_text("Deleted for good: 废弃素材")
    expect(page.locator("#bin-summary")).to_have_text("The recycle bin is empty.")
    assert asset(settings, ids["废弃素材"]) is None
    assert not storage.exists(gone.storage_key)


def checker(settings, admin) -> tuple[str, str]:
    """A reviewer who may not delete: a role with asset.review only."""
    from openwan.access import rights, service
    from openwan.models import User

    password = "Quality-Control-Pass-5"
    with unit_of_work(settings) as session:
        actor = session.get(User, admin.id)
        rights.create_role(session, actor, name="CHECKER", permissions=["asset.review"])
        session.flush()
        group = rights.create_group(session, actor, name="checkers", roles=["CHECKER"],
                                    categories="all")
        session.flush()
        service.create_user(session, "checker", password, level=5, groups=[group.id])
    return "checker", password


def test_review_and_bin_in_chinese_at_phone_width_pass_axe(signed_in, live_server, settings,
                                                           admin):
    make_assets(settings, admin, "很长的标题：城市夜景延时摄影与新闻联播片头合集")
    make_assets(settings, admin, "回收站中的素材", status="deleted")
    username, password = checker(settings, admin)
    page = signed_in(lang="zh", viewport=PHONE, next="/review", username=username,
                     password=password)
    assert page.title().startswith("待审核")
    expect(page.locator("#review-list > li")).to_have_count(1)
    expect(page.locator("#keys")).to_contain_text("快捷键")
    # Without asset.delete: no delete button, no d key.
    expect(page.locator("#review-list button.delete, #batch-delete")).to_have_count(0)
    expect(page.locator("#keys")).not_to_contain_text("删除")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []
    # A reviewer without group administration still chooses groups when approving.
    page.locator("#review-list > li").get_by_role("button", name="通过发布").click()
    expect(page.locator("#approve-dialog").get_by_label("checkers")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#review-list > li").get_by_role("button", name="退回").click()
    dialog = page.locator("#reject-dialog")
    dialog.get_by_role("button", name="退回").click()
    expect(dialog.locator("#reject-error")).to_have_text("请填写退回意见。")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("d")
    expect(page.locator("#delete-dialog")).to_be_hidden()

    page = signed_in(lang="zh", viewport=PHONE, next="/bin")
    expect(page.locator("#bin-list > li")).to_have_count(1)
    expect(page.locator("#bin-list button.purge")).to_have_text("彻底删除")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []
