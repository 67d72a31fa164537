"""A visitor without a browser: it speaks Streamlit's websocket protocol as the browser does (a ``BackMsg``
asking for a run with the page's query string and the widget states, ``ForwardMsg`` deltas back), so that a
room of visitors can load one server without a browser per visitor drawing on the server's own cores.

It knows two widgets. The live board (``app.live_board``): ``click`` sends the trigger a press on a square sends
(``{square, seq, shown}``, the event ``square``) and times the run until the server's board at the new position
arrives. A slider: ``slide`` sets a keyed ``st.slider`` (a single value) as a drag does, and times the run. What
it leaves out is the browser's side (layout, painting, plotly): ``bench.bench_room`` measures that with chromium
pages.

    visitor = await Visitor.open("http://localhost:8501", "moves=")
    board_s, run_s = await visitor.click("play_board", square=37, position="1_1")
"""

from __future__ import annotations

import asyncio
import json
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

BOARD = "othello_live_board"  # the live board's component name


def trigger_id(element: str) -> str:
    """The id of a components-v2 element's trigger widget (``streamlit...bidi_component.main._make_trigger_id``)."""
    from streamlit.components.v2.bidi_component.constants import EVENT_DELIM
    from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX
    return f"{STREAMLIT_INTERNAL_KEY_PREFIX}_{element}{EVENT_DELIM}events"


class Visitor:
    def __init__(self, socket, query: str, page: str):
        self.socket, self.query, self.page = socket, query, page
        self.page_hash = ""  # the page the server ran (a run asked for with another is a page change)
        self.boards: dict[str, tuple[str, dict]] = {}  # element key -> (element id, the board's data)
        self.clicks: dict[str, int] = {}
        self.sliders: dict[str, str] = {}  # widget key -> element id, of every keyed slider drawn
        self.elements: list[str] = []  # every element type the last run sent, in order
        self.alerts: list[str] = []  # the text of every alert (st.error, st.info, ...) the last run sent
        self.run_bytes = self.run_messages = 0  # the bytes and messages the server sent for the last run
        self.code: list[tuple[str, str, str]] = []  # (name, JavaScript, CSS) of every component the last run sent

    @classmethod
    async def open(cls, url: str, query: str = "", page: str = "", timeout: float = 180.0) -> "Visitor":
        """Connect and run the page (``page``: its url path, "" for the default page) with ``query``."""
        socket = await websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream",
                                          subprotocols=["streamlit"], max_size=1 << 27)
        visitor = cls(socket, query, page)
        await visitor.rerun(timeout=timeout)
        return visitor

    async def close(self) -> None:
        await self.socket.close()

    async def rerun(self, trigger: tuple[str, dict] | None = None, until=None, timeout: float = 180.0,
                    slider: tuple[str, float] | None = None) -> tuple[float | None, float]:
        """Ask for a run (with a live board's trigger, or a slider's (element id, value), if given) and read its
        messages to the end of the run; returns the seconds until ``until(boards)`` first held (None if it never did)
        and until the run ended."""
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_name = self.page
        msg.rerun_script.page_script_hash = self.page_hash
        if trigger is not None:
            element, value = trigger
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = trigger_id(element)
            state.json_trigger_value = json.dumps([{"event": "square", "value": value}])
        if slider is not None:
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = slider[0]
            state.double_array_value.data[:] = [slider[1]]
        start = time.perf_counter()
        await self.socket.send(msg.SerializeToString())
        seen, self.elements, self.alerts = None, [], []
        self.run_bytes = self.run_messages = 0
        self.code = []
        async with asyncio.timeout(timeout):
            while True:
                forward, data = ForwardMsg(), await self.socket.recv()
                self.run_bytes, self.run_messages = self.run_bytes + len(data), self.run_messages + 1
                forward.ParseFromString(data)
                kind = forward.WhichOneof("type")
                if kind == "navigation":  # the page st.navigation ran
                    self.page_hash = forward.navigation.page_script_hash
                elif kind == "page_info_changed":
                    self.query = forward.page_info_changed.query_string  # the app keeps its state in the link
                elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                    self.read(forward.delta.new_element)
                    if seen is None and until is not None and until(self.boards):
                        seen = time.perf_counter() - start
                elif kind == "script_finished":
                    return seen, time.perf_counter() - start

    def read(self, element) -> None:
        kind = element.WhichOneof("type")
        self.elements.append(kind or "")
        if kind == "alert":
            self.alerts.append(element.alert.body)
        if kind == "slider" and element.slider.id.startswith("$$ID-"):  # keyed: $$ID-<hash>-<key>
            self.sliders[element.slider.id.split("-", 2)[2]] = element.slider.id
        if kind == "bidi_component":
            component = element.bidi_component
            self.code.append((component.component_name, component.js_content, component.css_content))
            if component.component_name == BOARD:
                self.boards[component.id.rsplit("-", 1)[-1]] = (component.id, json.loads(component.json))

    async def click(self, key: str, square: int, position: str, shown: int | None = None
                    ) -> tuple[float | None, float]:
        """Press ``square`` on the live board ``key``: seconds until the server's board at ``position`` (its
        ``data-position``: for Play, ``{moves}_{cursor}``) arrived (None if the run ended without it), and until
        the run ended (on Play: the prediction drawn)."""
        element, data = self.boards[key]
        self.clicks[key] = self.clicks.get(key, 0) + 1
        value = {"square": square, "seq": self.clicks[key], "shown": data.get("shown") if shown is None else shown}
        return await self.rerun((element, value), until=lambda boards: boards[key][1].get("position") == position)

    async def slide(self, key: str, value: float) -> float:
        """Set the keyed slider ``key`` to ``value``: seconds until the run ended."""
        return (await self.rerun(slider=(self.sliders[key], value)))[1]
