"""Regenerate the README's screenshot of the Play page (docs/play.png) in Debian's chromium.

    python -m scripts.screenshot_play [--moves f5d6c3d3c4f4c5b3] [--out docs/play.png]

Run from the repository root: it serves the app on the bundled model with the tests' helpers
(tests/browser.py), opens the Play page on a game, waits for the board and the prediction, and
saves a screenshot of the page's main block.
"""
import argparse
from pathlib import Path

from tests.browser import chromium, play_board, streamlit_server, wait_for_app, wait_for_board


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", default="f5d6c3d3c4f4c5b3")
    parser.add_argument("--out", default="docs/play.png")
    args = parser.parse_args()
    n_moves = len(args.moves) // 2
    with streamlit_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
        page.goto(f"{url}/?moves={args.moves}")
        wait_for_app(page)
        wait_for_board(page, play_board(n_moves))
        page.wait_for_function("() => document.body.innerText.includes('Top-1:')", timeout=90_000)
        wait_for_app(page)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out, clip={"x": 0, "y": 0, "width": 1400, "height": 1000})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
