"""A visitor without a browser (and the served dashboard it visits): Streamlit's own protocol over its WebSocket, as the page's
JavaScript speaks it (protobuf BackMsg / ForwardMsg), against a real served dashboard.

Many of these fit in one test process at almost no CPU cost, so a load test can be eight
visitors at once while a real browser measures what a ninth sees. A visitor opens a page, reads
what it shows (alerts, markdown, captions), clicks buttons and form submits, types into text
areas and number inputs, builds a download on click (as the browser's download button asks),
and uploads a file (through the same XSRF-checked upload route the browser uses).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

TEXT_KINDS = ("alert", "markdown", "heading", "text", "code", "exception")


@dataclass
class Run:
    """What one script run put on the page (the last element at each place)."""

    elements: dict[tuple[int, ...], Any] = field(default_factory=dict)
    status: str = ""

    def of_kind(self, kind: str) -> list[Any]:
        return [e for _path, e in sorted(self.elements.items()) if e.WhichOneof("type") == kind]

    def texts(self) -> list[str]:
        found = []
        for _path, element in sorted(self.elements.items()):
            kind = element.WhichOneof("type")
            if kind in TEXT_KINDS:
                body = getattr(getattr(element, kind), "body", None)
                found.append(body if body is not None else str(getattr(element, kind)))
        return found

    def text(self) -> str:
        return "\n".join(self.texts())

    def widget(self, kind: str, label: str) -> Any:
        for element in self.of_kind(kind):
            proto = getattr(element, kind)
            if proto.label == label:
                return proto
        raise LookupError(f"no {kind} labelled {label!r} on the page: {self.labels()}")

    def labels(self) -> list[str]:
        return [
            f"{e.WhichOneof('type')}:{getattr(e, e.WhichOneof('type')).label}"
            for _p, e in sorted(self.elements.items())
            if hasattr(getattr(e, e.WhichOneof("type") or "empty", None), "label")
        ]


class Visitor:
    """One browser session of ``base`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, base: str, timeout_s: float = 300.0) -> None:
        self.base = base
        self.timeout_s = timeout_s
        self.page = ""
        self.query = ""
        self.session_id = ""
        self.run = Run()
        self._socket: Any = None
        self._values: dict[str, Any] = {}  # widget id -> WidgetState (kept between runs)
        self._answers: dict[str, Any] = {}  # request id -> response
        self._jar = http.cookiejar.CookieJar()
        self._http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._jar))

    async def connect(self) -> None:
        # As the page's script does first: the health check sets the XSRF cookie an upload
        # must send back.
        await asyncio.to_thread(self._get, "/_stcore/health")
        host = self.base.split("://", 1)[1]
        self._socket = await websockets.connect(
            f"ws://{host}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=60,
        )

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
            self._socket = None

    async def open(self, page: str = "", query: str = "") -> Run:
        """Go to ``page`` (its url path; "" is the Overview) and wait for the run to end."""
        if self._socket is None:
            await self.connect()
        self.page, self.query = page, query
        self._values.clear()
        return await self._rerun([])

    async def rerun(self) -> Run:
        return await self._rerun([])

    async def click(self, label: str, kind: str = "button") -> Run:
        """Press a button (or a form's submit button: the form's values go with it)."""
        button = self.run.widget(kind, label)
        return await self._rerun([self._state(button.id, trigger_value=True)])

    async def type_text(self, label: str, value: str, kind: str = "text_area") -> None:
        """Type into a text area or input (sent with the next run, as a browser does)."""
        widget = self.run.widget(kind, label)
        self._values[widget.id] = self._state(widget.id, string_value=value)

    async def set_number(self, label: str, value: float) -> None:
        widget = self.run.widget("number_input", label)
        if widget.data_type == widget.INT:
            self._values[widget.id] = self._state(widget.id, int_value=int(value))
        else:
            self._values[widget.id] = self._state(widget.id, double_value=float(value))

    async def set_toggle(self, label: str, value: bool, kind: str = "checkbox") -> Run:
        widget = self.run.widget(kind, label)
        self._values[widget.id] = self._state(widget.id, bool_value=value)
        return await self._rerun([])

    async def choose(self, label: str, option: str, kind: str = "radio") -> Run:
        """Pick ``option`` (as the page shows it) in a radio or a select box."""
        widget = self.run.widget(kind, label)
        self._values[widget.id] = self._state(widget.id, string_value=option)
        return await self._rerun([])

    async def choose_many(self, label: str, options: list[str]) -> Run:
        """Set a multiselect to ``options`` (as the page shows them)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget = self.run.widget("multiselect", label)
        state = WidgetState(id=widget.id)
        state.string_array_value.data.extend(options)
        self._values[widget.id] = state
        return await self._rerun([])

    async def download(self, label: str) -> tuple[bytes | None, str]:
        """Build a download on click; (its bytes, "") or (None, the error the browser shows)."""
        button = self.run.widget("download_button", label)
        if not button.deferred_file_id:
            return await asyncio.to_thread(self._get, button.url), ""
        message = BackMsg()
        request = message.backend_operation_request
        request.request_id = uuid.uuid4().hex
        request.session_id = self.session_id
        request.deferred_file.file_id = button.deferred_file_id
        response = await self._ask(message, request.request_id)
        if response.error_msg:
            return None, response.error_msg
        return await asyncio.to_thread(self._get, response.deferred_file.url), ""

    async def upload(self, label: str, name: str, data: bytes) -> Run:
        """Choose ``data`` as ``name`` in a file uploader (the run this starts is returned)."""
        uploader = self.run.widget("file_uploader", label)
        message = BackMsg()
        ask = message.file_urls_request
        ask.request_id = uuid.uuid4().hex
        ask.session_id = self.session_id
        ask.file_names.append(name)
        answer = await self._ask(message, ask.request_id)
        urls = answer.file_urls[0]
        await asyncio.to_thread(self._put, urls.upload_url, name, data)
        state = self._state(uploader.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self._values[uploader.id] = state
        return await self._rerun([])

    # -- the protocol -------------------------------------------------------------------------

    @staticmethod
    def _state(widget_id: str, **value: Any) -> Any:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=widget_id)
        for name, given in value.items():
            if name != "file_uploader_state_value":
                setattr(state, name, given)
        return state

    async def _rerun(self, triggers: list[Any]) -> Run:
        message = BackMsg()
        client = message.rerun_script
        client.query_string = self.query
        client.page_name = self.page
        client.widget_states.widgets.extend([*self._values.values(), *triggers])
        await self._socket.send(message.SerializeToString())
        return await asyncio.wait_for(self._until_finished(), self.timeout_s)

    async def _ask(self, message: Any, request_id: str) -> Any:
        await self._socket.send(message.SerializeToString())

        async def answered() -> Any:
            while request_id not in self._answers:
                await self._receive()
            return self._answers.pop(request_id)

        return await asyncio.wait_for(answered(), self.timeout_s)

    async def _until_finished(self) -> Run:
        while True:
            message = await self._receive()
            if message is None:
                continue
            kind = message.WhichOneof("type")
            if kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
                if status != "FINISHED_EARLY_FOR_RERUN":
                    self.run.status = status
                    return self.run

    async def _receive(self) -> Any:
        data = await self._socket.recv()
        message = ForwardMsg()
        message.ParseFromString(data)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id or self.session_id
            self.run = Run()
        elif kind == "delta":
            delta = message.delta
            if delta.WhichOneof("type") == "new_element":
                path = tuple(message.metadata.delta_path)
                self.run.elements[path] = delta.new_element
        elif kind == "file_urls_response":
            self._answers[message.file_urls_response.response_id] = message.file_urls_response
        elif kind == "backend_operation_response":
            response = message.backend_operation_response
            self._answers[response.request_id] = response
        elif kind == "ref_hash":  # an element the browser already has, by hash: not kept here
            pass
        return message

    # -- HTTP -----------------------------------------------------------------------------------

    def _get(self, path: str) -> bytes:
        url = path if path.startswith("http") else self.base + path
        with self._http.open(url, timeout=self.timeout_s) as reply:
            return reply.read()

    def _xsrf(self) -> str:
        for cookie in self._jar:
            if cookie.name == "_streamlit_xsrf":
                return str(cookie.value)
        return ""

    def _put(self, url: str, name: str, data: bytes) -> None:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        target = url if url.startswith("http") else self.base + url
        request = urllib.request.Request(target, data=body, method="PUT")
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        request.add_header("X-Xsrftoken", self._xsrf())
        with self._http.open(request, timeout=self.timeout_s) as reply:
            reply.read()


def page_json(run: Run) -> str:
    """Everything textual the run showed (for failure messages)."""
    return json.dumps(run.texts(), ensure_ascii=False)[:4000]


class Served:
    """``nestmap dashboard`` as a user starts it (its own process group), on ``graph``;
    ``command``: another installation's ``nestmap``."""

    def __init__(
        self,
        graph: Path,
        workdir: Path,
        env: dict[str, str] | None = None,
        command: Path | None = None,
    ):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "dashboard.log").open("w")
        environment = {**os.environ, "NESTMAP_NEO4J_URI": "", **(env or {})}
        self.process = subprocess.Popen(
            [
                str(command or Path(sys.executable).with_name("nestmap")),
                "dashboard",
                "--db",
                str(graph),
                "--port",
                str(self.port),
                "--address",
                "127.0.0.1",
            ],
            cwd=workdir,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._healthy()

    def _healthy(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the dashboard exited"
            try:
                with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the dashboard did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def server_pid(self) -> int:
        """The Streamlit server (``nestmap dashboard`` runs it as its child)."""
        children = [
            int(child)
            for task in Path(f"/proc/{self.process.pid}/task").glob("*")
            for child in (task / "children").read_text().split()
        ]
        return children[0]
