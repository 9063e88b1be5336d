"""A small driver for headless chromium over the Chrome DevTools Protocol.

Just what the Cockpit tests need: navigate, evaluate JavaScript, wait for
a condition of the page, click where a user would (real mouse events at
the element's centre), type (real key events), take screenshots.  The
browser runs with a profile of its own and a debugging port the kernel
picks (read back from DevToolsActivePort), so browsers of parallel tests
never meet.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import time
import urllib.request

import websocket

CHROMIUM = "/usr/bin/chromium"


class PageError(AssertionError):
    """The page did not get where a test waited for it to go."""


class Browser:
    def __init__(self, workdir: str, width: int = 1400, height: int = 900):
        self.profile = os.path.join(workdir, "chromium-profile")
        os.makedirs(self.profile, exist_ok=True)
        self.log = open(os.path.join(workdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio",
             f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.ids = itertools.count(1)
        self.ws = None
        self.console: list[str] = []
        try:
            self._connect()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> None:
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while True:
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
                if pages:
                    break
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit {self.proc.poll()}); see {self.log.name}")
            time.sleep(0.1)
        # no Origin header: chromium refuses DevTools websockets from origins it was not told of
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    # -- protocol -----------------------------------------------------------------

    def call(self, method: str, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.on_event(msg)

    def on_event(self, msg: dict) -> None:
        """Events arrive between answers; the page's console errors are kept
        so a failing test can show them."""
        if msg.get("method") == "Runtime.consoleAPICalled" and msg["params"]["type"] in ("error", "warning"):
            args = msg["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif msg.get("method") == "Runtime.exceptionThrown":
            self.console.append(msg["params"]["exceptionDetails"].get("text", "exception"))

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            details = r["exceptionDetails"]
            raise RuntimeError(f"{expression[:200]}: {details.get('exception', {}).get('description', details)}")
        return r["result"].get("value")

    # -- the page -----------------------------------------------------------------

    def navigate(self, url: str) -> None:
        self.console = []
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'", what=f"{url} to load")

    def wait(self, expression: str, timeout: float = 30, what: str = ""):
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise PageError(f"timed out waiting for {what or expression}\n--- page text ---\n"
                                f"{self.text()[:3000]}\n--- console ---\n" + "\n".join(self.console[-20:]))
            time.sleep(0.2)

    def text(self, selector: str = "body") -> str:
        return self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")

    def wait_text(self, text: str, selector: str = "body", timeout: float = 30) -> None:
        self.wait(f"((document.querySelector({json.dumps(selector)}) || {{}}).innerText || '')"
                  f".includes({json.dumps(text)})", timeout, f"{text!r} in {selector}")

    def wait_no_text(self, text: str, selector: str = "body", timeout: float = 30) -> None:
        self.wait(f"!((document.querySelector({json.dumps(selector)}) || {{}}).innerText || '')"
                  f".includes({json.dumps(text)})", timeout, f"{text!r} to leave {selector}")

    def click(self, selector: str, text: str | None = None, timeout: float = 30) -> None:
        """Click the first visible element matching selector (and whose text
        is `text`, when given) with the mouse, as a user would."""
        self.click_js(_find_js(selector, text), timeout, f"a clickable {selector}" + (f" saying {text!r}" if text else ""))

    def click_js(self, find: str, timeout: float = 30, what: str = "") -> None:
        """Click the element a JavaScript expression finds, once it is
        there, enabled and visible: mouse events at its centre."""
        locate = f"""(() => {{
            const el = {find};
            if (!el || el.disabled || el.getAttribute('aria-disabled') === 'true') return null;
            el.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height) return null;
            const x = r.x + r.width / 2, y = r.y + r.height / 2;
            // not under something else (a notification, another dialog)
            return el.contains(document.elementFromPoint(x, y)) ? [x, y] : null;
        }})()"""
        # where it is once the page stops moving (scrolling, a list still filling)
        deadline = time.monotonic() + timeout
        box = self.wait(locate, timeout, what or find)
        while True:
            time.sleep(0.1)
            again = self.wait(locate, max(deadline - time.monotonic(), 1), what or find)
            if again == box or time.monotonic() > deadline:
                break
            box = again
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def exists(self, selector: str, text: str | None = None) -> bool:
        return bool(self.evaluate(f"!!{_find_js(selector, text)}"))

    def fill(self, selector: str, value: str, timeout: float = 30) -> None:
        """Replace an input's value as a user does: click into it, select
        what it holds, type (the page's handlers see each key)."""
        focused = f"document.activeElement === document.querySelector({json.dumps(selector)})"
        for _ in range(5):
            self.click(selector, timeout=timeout)
            # a menu just closed may hand the focus back to its own input a moment later
            time.sleep(0.2)
            if self.evaluate(focused):
                break
        else:
            raise PageError(f"input {selector} does not keep the focus")
        self.evaluate(f"document.querySelector({json.dumps(selector)}).select?.()")
        # typing replaces the selection; a Backspace would also reach the
        # page's own key handlers (a typeahead's clears its choice on it)
        if value:
            self.type(value)
        else:
            self.key("Backspace")

    def type(self, text: str) -> None:
        for ch in text:
            if ch == "\n":
                self.key("Enter")
            else:
                self.call("Input.dispatchKeyEvent", type="keyDown", text=ch, key=ch, unmodifiedText=ch)
                self.call("Input.dispatchKeyEvent", type="keyUp", key=ch)

    _KEYS = {"Enter": (13, "\r"), "Backspace": (8, ""), "Escape": (27, ""), "Tab": (9, "\t"),
             "ArrowDown": (40, ""), "ArrowUp": (38, "")}

    def key(self, name: str) -> None:
        code, text = self._KEYS[name]
        down = {"type": "keyDown", "key": name, "code": name, "windowsVirtualKeyCode": code,
                "nativeVirtualKeyCode": code}
        if text:
            down["text"] = text
        self.call("Input.dispatchKeyEvent", **down)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=name, windowsVirtualKeyCode=code,
                  nativeVirtualKeyCode=code)

    def set_size(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def screenshot(self, path: str) -> str:
        """The whole page, not just the window: expanded rows run long."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}
        data = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path


def _find_js(selector: str, text: str | None) -> str:
    """A JavaScript expression: the first visible element matching selector
    whose trimmed text is `text` (any text when None)."""
    return (f"[...document.querySelectorAll({json.dumps(selector)})].find(e => e.getClientRects().length"
            + (f" && e.innerText.trim() === {json.dumps(text)}" if text is not None else "") + ")")
