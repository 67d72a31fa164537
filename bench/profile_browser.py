"""Where the browser's main thread goes on a click: Chrome's sampling profiler (CDP) over clicks on a page's
live board, summed by script file and by function, in milliseconds of JavaScript per click (idle and
"(program)" left out). Found that an Interventions click costs the browser about 220 ms of React and
emotion-styled re-rendering, with or without the minimal-edit finder below the edit (bench/RESULTS.md).

    python -m bench.profile_browser [--page interventions|play] [--clicks 6] [--top 20]
"""

from __future__ import annotations

import argparse
import collections
import time

from othello_core.rules.games import random_games
from othello_core.rules.notation import format_moves, square_to_name
from tests.browser import chromium, play_board, point_at_square, streamlit_server, wait_for_app


def squares_to_click(page, kind: str, moves: list[int], clicks: int) -> list[tuple[int, str]]:
    """(square, the live board's selector) for each click: the game's next moves on Play, or three discs of the
    board as edited toggled in and out of the edit on Interventions."""
    if kind == "play":
        return [(moves[20 + k], play_board(20 + k)) for k in range(clicks)]
    selector = ".st-key-edit_board svg[data-shown]"
    cells = page.locator(selector).first.get_attribute("data-cells")
    discs = [s for s, c in enumerate(cells) if c != "0" and square_to_name(s) != "e4"][:3]
    return [(discs[k % len(discs)], selector) for k in range(clicks)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", choices=["interventions", "play"], default="interventions")
    parser.add_argument("--clicks", type=int, default=6)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    moves = random_games(1, seed=11).squares[0, :20 + args.clicks].tolist()
    path = f"/interventions?moves={format_moves(moves[:20])}&edit=e4" if args.page == "interventions" \
        else f"/?moves={format_moves(moves[:20])}"
    with chromium() as browser, streamlit_server() as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + path)
        wait_for_app(page)
        time.sleep(3)  # the components' scripts loaded, the viewport reported
        plan = squares_to_click(page, args.page, moves, args.clicks)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
        for square, selector in plan:
            page.wait_for_selector(selector)
            point_at_square(page, square, selector)
            page.mouse.down()
            page.mouse.up()
            time.sleep(0.3)
            wait_for_app(page)
            time.sleep(0.3)
        profile = cdp.send("Profiler.stop")["profile"]
    nodes = {node["id"]: node["callFrame"] for node in profile["nodes"]}
    by_file, by_function = collections.Counter(), collections.Counter()
    for sample, micros in zip(profile["samples"], profile["timeDeltas"]):
        frame = nodes[sample]
        if frame["functionName"] in ("(idle)", "(program)"):
            continue
        source = frame["url"].rsplit("/", 1)[-1] or frame["functionName"]
        by_file[source] += micros
        by_function[f"{frame['functionName'] or '(anonymous)'} {source}:{frame['lineNumber']}"] += micros
    per_click = lambda micros: micros / 1000 / len(plan)  # noqa: E731
    print(f"{args.page}: {per_click(sum(by_file.values())):.0f} ms of JavaScript a click over {len(plan)} clicks")
    for title, counts in (("by script file", by_file), ("by function", by_function)):
        print(f"-- {title}")
        for name, micros in counts.most_common(args.top):
            print(f"{per_click(micros):7.1f} ms  {name}")


if __name__ == "__main__":
    main()
