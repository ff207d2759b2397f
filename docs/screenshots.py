"""Screenshots of a built site with headless Chromium, at 1400x900.

    python docs/screenshots.py SITE_DIR [OUT_DIR]

Serves SITE_DIR on localhost (``python -m http.server`` on a free port) and renders the
home page, an API page (classification, its top and the ``huber_loss`` entry on the
regression page, which has a formula) and a migration page (optax) to PNG files in OUT_DIR
(a fresh temporary folder by default). Chromium's virtual time budget lets MathJax typeset
before the shot. Installs Debian's ``chromium`` when ``/usr/bin/chromium`` is missing and
this runs as root. Fails when a PNG is missing or trivially small.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 900
MIN_BYTES = 20_000  # a blank 1400x900 page is a few kB
PAGES = {
    "home.png": "",
    "api_classification.png": "api/classification/",
    "api_regression_huber.png": "api/regression/#jaxloss.huber_loss",
    "migration_optax.png": "migration/optax/",
}


def ensure_chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0:
        raise SystemExit(
            f"screenshots: {CHROMIUM} is missing; install Debian's chromium "
            "(apt-get install -y chromium) or run this as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "chromium"], env=env).returncode:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "chromium"], env=env, check=True)
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"screenshots: apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Headless Chromium paints a blank page when the URL has a #fragment (the scroll to the
# anchor happens after the paint it captures), so an anchored page is shot inside a
# full-window iframe of a small wrapper page, where the scroll works.
FRAME = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;overflow:hidden"><iframe src="{src}" title="page"
style="display:block;border:0;width:{width}px;height:{height}px"></iframe></body></html>
"""


@contextlib.contextmanager
def serve(site: pathlib.Path):
    """Serves a temporary folder holding ``site/`` (a link to SITE_DIR) and the wrappers."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="screenshots-serve-"))
    (root / "site").symlink_to(site, target_is_directory=True)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"screenshots: the local server on port {port} did not start")
        yield url, root
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def page_url(base: str, root: pathlib.Path, rel: str, name: str) -> str:
    if "#" not in rel:
        return f"{base}site/{rel}"
    wrapper = root / f"{pathlib.Path(name).stem}.html"
    wrapper.write_text(FRAME.format(src=f"site/{rel}", width=WIDTH, height=HEIGHT))
    return base + wrapper.name


def shoot(chromium: str, url: str, png: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={png}",
            "--virtual-time-budget=10000",
            url,
        ]
        if os.geteuid() == 0:
            cmd.insert(2, "--no-sandbox")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if result.returncode or not png.exists():
        raise SystemExit(
            f"screenshots: chromium failed on {url} (exit {result.returncode}):"
            f"\n{result.stderr[-2000:]}"
        )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not 1 <= len(argv) <= 2:
        print("usage: python docs/screenshots.py SITE_DIR [OUT_DIR]", file=sys.stderr)
        return 2
    site = pathlib.Path(argv[0]).resolve()
    if not (site / "index.html").is_file():
        raise SystemExit(f"screenshots: {site} has no index.html (build the site first)")
    out = pathlib.Path(argv[1] if len(argv) == 2 else tempfile.mkdtemp(prefix="screenshots-"))
    out.mkdir(parents=True, exist_ok=True)
    chromium = ensure_chromium()
    failures = []
    with serve(site) as (base, root):
        for name, rel in PAGES.items():
            png = out / name
            with contextlib.suppress(FileNotFoundError):
                png.unlink()
            shoot(chromium, page_url(base, root, rel, name), png)
            size = png.stat().st_size if png.exists() else 0
            if size < MIN_BYTES:
                failures.append(f"{png}: {size} bytes, expected a rendered page")
            print(f"screenshots: {rel or 'index'} -> {png} ({size} bytes)")
    for failure in failures:
        print(f"screenshots: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
