"""Open the built docs site in a real browser: screenshots of Getting started and of the benchmarks page, and a search.

    make docs-check      # = make docs, then python scripts/docs_check.py --site site --out site-check

The site is served on localhost and driven by Playwright in Debian's Chromium, headless (`apt install chromium`;
Playwright's own browser download cannot be reached here, so the system binary is passed to it). The check fails
when a page has no table or when the search box finds nothing for "temperature". Not part of CI: it needs a browser.
"""

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the check prints what it found, not every request
        pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """The site on a free localhost port, in a daemon thread."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check(site: Path, out: Path, chromium: str) -> list[str]:
    """Screenshots into `out`; the problems found (none when the site reads well)."""
    out.mkdir(parents=True, exist_ok=True)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        for name, path in (("getting-started", "/"), ("benchmarks", "/benchmarks/")):
            page.goto(base + path)
            page.screenshot(path=str(out / f"{name}.png"), full_page=False)
            if page.locator("table").count() == 0:
                problems.append(f"{path}: no table rendered")
        page.goto(base + "/")
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.keyboard.type("temperature")
        page.wait_for_selector(".md-search-result__item", timeout=10_000)
        hits = page.locator(".md-search-result__item").count()
        page.screenshot(path=str(out / "search.png"))
        if hits == 0:
            problems.append('the search box found nothing for "temperature"')
        print(f'search "temperature": {hits} results; screenshots in {out}')
        browser.close()
    server.shutdown()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="site", help="The built site (mkdocs build).")
    parser.add_argument("--out", default="site-check", help="Where the screenshots go.")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="The browser binary.")
    args = parser.parse_args()
    if not (Path(args.site) / "index.html").is_file():
        parser.error(f"--site {args.site} holds no built site: run make docs first")
    if not Path(args.chromium).is_file():
        parser.error(f"--chromium {args.chromium} is not there: apt install chromium, or name the binary")
    problems = check(Path(args.site), Path(args.out), args.chromium)
    for problem in problems:
        print(f"docs-check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
