"""From "upload complete" in the browser to the first frame playing on the asset page, for a
browser-ready clip (H.264 + AAC in MP4, generated here), through ``openwan up`` (API + worker,
idle at each upload) and the upload page in headless Chromium; and the JS/CSS weight of the
upload, review and recycle-bin pages.

    python bench/upload_to_play.py [--seconds 10] [--repeat 3]

"Upload complete" is the moment the upload page shows the file done (its last tus PATCH
answered, the asset registered). The asset page is then opened and reloaded when the preview
is not there yet (a page that follows processing by itself only shortens this); "playing" is
the video element's first ``playing`` event with ``readyState >= 2``.
Prints figures as it goes; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's ``queue``: keep this folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench._common import ADMIN_PASSWORD, Server, report  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]
PAGES = ["/upload", "/review", "/bin"]


def make_clip(path: Path, seconds: int, index: int) -> Path:
    """A browser-ready clip; ``index`` changes the tone so every run uploads new bytes."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency={440 + index}:duration={seconds}",
                    "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(path)],
                   check=True, timeout=300, stdin=subprocess.DEVNULL)
    return path


def page_weight(page, base: str, path: str) -> dict[str, int]:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    sizes = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(r => r.initiatorType === 'script' || r.initiatorType === 'link'
                     || r.name.endsWith('.js') || r.name.endsWith('.css'))
        .map(r => [r.name, r.decodedBodySize])""")
    js = sum(size for name, size in sizes if name.endswith(".js"))
    css = sum(size for name, size in sizes if name.endswith(".css"))
    return {"js_bytes": js, "css_bytes": css}


def upload_and_play(page, base: str, clip: Path) -> dict[str, float]:
    page.goto(base + "/upload")
    page.set_input_files("#files", str(clip))
    page.wait_for_selector("#queue > li[data-state=ready]")
    started = time.monotonic()
    page.click("#start")
    page.wait_for_selector("#queue > li[data-state=done]", timeout=120_000)
    done = time.monotonic()
    asset_id = page.get_attribute("#queue > li[data-state=done]", "data-asset-id")
    page.goto(f"{base}/assets/{asset_id}")
    ready = None
    while True:
        if page.locator("#preview video").count():
            break
        has_preview = page.evaluate(
            "async (id) => (await (await fetch(`/api/v1/assets/${id}/renditions`)).json())"
            ".items.some(r => r.kind === 'preview')", asset_id)
        if has_preview:
            ready = ready or time.monotonic()
            page.reload()
            page.wait_for_selector("#preview video, #preview img, #preview p", timeout=10_000)
        else:
            time.sleep(0.1)
        if time.monotonic() - done > 300:
            raise RuntimeError("the preview did not come within 5 minutes")
    page.evaluate("""() => new Promise((resolve, reject) => {
        const video = document.querySelector('#preview video');
        video.muted = true;
        const check = () => { if (video.readyState >= 2 && !video.paused) resolve(); };
        video.addEventListener('playing', check);
        video.addEventListener('timeupdate', check);
        video.addEventListener('error', () => reject(new Error('video error')));
        video.play().catch(reject);
        check();
    })""")
    playing = time.monotonic()
    # The rest of the asset's processing (sprite, HLS…) finishes before the next run, so that
    # every run starts on an idle worker.
    page.wait_for_function(
        "async (id) => ['ready', 'failed'].includes("
        "(await (await fetch(`/api/v1/assets/${id}`)).json()).media_state)",
        arg=asset_id, polling=200, timeout=300_000)
    return {"upload_s": done - started, "done_to_preview_s": (ready or playing) - done,
            "done_to_playing_s": playing - done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="openwan-bench-") as tmp:
        root = Path(tmp)
        clips = [make_clip(root / f"clip{i}.mp4", args.seconds, i) for i in range(args.repeat)]
        print(f"clip: {args.seconds} s 1280x720 H.264 main + AAC, faststart, "
              f"{clips[0].stat().st_size / 1e6:.1f} MB", flush=True)
        (root / "var").mkdir()
        with Server(root / "var", "up") as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.goto(f"{server.url}/login?next=/upload")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"{server.url}/upload")
            weights = {path: page_weight(page, server.url, path) for path in PAGES}
            for path, weight in weights.items():
                print(f"{path}: JS {weight['js_bytes'] / 1024:.1f} KiB, "
                      f"CSS {weight['css_bytes'] / 1024:.1f} KiB (uncompressed)", flush=True)
            runs = []
            for i, clip in enumerate(clips):
                run = upload_and_play(page, server.url, clip)
                runs.append(run)
                print(f"run {i + 1}: upload {run['upload_s']:.2f} s, upload complete → preview "
                      f"{run['done_to_preview_s']:.2f} s → first frame playing "
                      f"{run['done_to_playing_s']:.2f} s", flush=True)
            browser.close()
    median = statistics.median(r["done_to_playing_s"] for r in runs)
    print(f"median upload complete → first frame playing: {median:.2f} s", flush=True)
    report({"clip_seconds": args.seconds, "runs": len(runs),
            "done_to_playing_s_median": round(median, 3),
            "done_to_playing_s": [round(r["done_to_playing_s"], 3) for r in runs],
            "done_to_preview_s": [round(r["done_to_preview_s"], 3) for r in runs],
            "upload_s": [round(r["upload_s"], 3) for r in runs],
            "page_weight": weights, "target_done_to_playing_s": 2.0})


if __name__ == "__main__":
    main()
