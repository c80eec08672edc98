"""A small WebDriver client (standard library only) for the browser tests: starts Debian's
chromedriver and a headless Chromium, with or without the flags that give it WebGPU
(SwiftShader), and drives the page in real time.

    with Browser(webgpu=True) as b:
        b.goto(url); b.wait_js("return document.querySelector('#app').dataset.state == 'ready'")

and the harness every browser-test script reports through:

    checks = Checks(only=a.only)
    checks.run("the page loads", lambda: check(ok, "why not"))   # "ok    NAME (1.2 s): detail"
    checks.finish()                                               # "N passed, N failed"; exit 1 on any
"""

import base64
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

BASE_ARGS = [
    "--headless=new",
    "--no-sandbox",  # needed as root
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
]
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"]
# A Chromium without WebGPU: headless Chromium then has `navigator.gpu` but `requestAdapter()`
# finds no adapter (the tests check that). `--disable-gpu` belongs here only: from Chromium 148
# (Debian 148.0.7778.167, 2026-12) it also takes WebGPU's SwiftShader adapter away, so with it the
# WebGPU browser found no adapter either.
NO_WEBGPU_ARGS = ["--disable-gpu"]


# The page's hooks: the app is ready (no analysis running), and its last analysis as JSON.
READY = "const a = document.querySelector('#app'); return a && a.dataset.state === 'ready';"
REPORT = "const e = document.querySelector('#wb-report'); return e && e.textContent ? JSON.parse(e.textContent) : null;"
ERROR = "const e = document.querySelector('#wb-error'); return e && e.textContent;"


class Failed(Exception):
    """A check that did not hold: reported by its message alone, without a traceback."""


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def wait_report(b, image, engine=None, side=None, timeout=None):
    """The page's analysis of `image` (on `engine`, at `side`×`side`, where given) once the app
    is ready; fails at once when the page shows an error."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < (timeout or b.timeout):
        r = b.js(REPORT)
        if (r and r.get("image") == image and (engine is None or r.get("engine") == engine)
                and (side is None or r.get("input_size") == [side, side]) and b.js(READY)):
            return r
        err = b.js(ERROR)
        if err:
            raise Failed(f"the page shows an error while waiting for {image}: {err.strip()[:300]}")
        time.sleep(0.1)
    raise Failed(f"no report for {image} (engine {engine}, side {side}) within {timeout or b.timeout:.0f} s; "
                 f"page: {b.text('body')[:600]!r}")


class Checks:
    """Runs named checks and prints one line for each — `ok    NAME (s): detail`,
    `FAIL  NAME (s): why` (a traceback for anything but a failed check or a timeout),
    `SKIP  NAME: why` — and, from `finish()`, `N passed, N failed[, N skipped] (s)`, exiting 1
    if any failed. `only`: run just the checks whose name contains it (or one of its
    comma-separated parts)."""

    def __init__(self, only=""):
        self.only = only or ""
        self.passed = self.failed = self.skipped = 0
        self.started = time.monotonic()

    def run(self, name, fn, on_fail=None):
        """Runs `fn` (it returns a detail string or None); `on_fail()` may add to the message
        of a failure (e.g. the page's memory, a screenshot). True when it passed."""
        if not self.wanted(name):
            return None
        t0 = time.monotonic()
        try:
            detail = fn()
        except Exception as e:  # a failed check, a timeout or a broken page
            msg = str(e) if isinstance(e, (Failed, TimeoutError)) else traceback.format_exc()
            if on_fail is not None:
                try:
                    msg += on_fail() or ""
                except Exception:
                    pass
            print(f"FAIL  {name} ({time.monotonic() - t0:.1f} s): {msg}", flush=True)
            self.failed += 1
            return False
        print(f"ok    {name} ({time.monotonic() - t0:.1f} s){': ' + detail if detail else ''}", flush=True)
        self.passed += 1
        return True

    def wanted(self, name):
        return any(part in name for part in self.only.split(","))

    def skip(self, name, why):
        if self.wanted(name):
            print(f"SKIP  {name}: {why}", flush=True)
            self.skipped += 1

    def finish(self):
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        print(f"{self.passed} passed, {self.failed} failed{skipped} "
              f"({time.monotonic() - self.started:.0f} s)", flush=True)
        sys.exit(1 if self.failed else 0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, webgpu=True, timeout=120.0, width=1280, height=800):
        self.webgpu = webgpu
        self.timeout = timeout
        self.size = (width, height)

    def __enter__(self):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="wb-chromium-")
        self.driver = subprocess.Popen(
            [shutil.which("chromedriver") or "/usr/bin/chromedriver", f"--port={self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self._call("GET", "/status", timeout=2)
                break
            except Exception:
                time.sleep(0.1)
        args = BASE_ARGS + (WEBGPU_ARGS if self.webgpu else NO_WEBGPU_ARGS)
        args = [a for a in args if not a.startswith("--window-size")]
        args += [f"--window-size={self.size[0]},{self.size[1]}", f"--user-data-dir={self.profile}"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": shutil.which("chromium") or "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        self.session = self._call("POST", "/session", caps)["sessionId"]
        t = int(self.timeout * 1000)
        self.cmd("POST", "/timeouts", {"script": t, "pageLoad": t})
        return self

    def __exit__(self, *exc):
        try:
            self._call("DELETE", f"/session/{self.session}", timeout=10)
        except Exception:
            pass
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _call(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout + 30) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.code} {e.read()[:600]!r}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def goto(self, url):
        self.cmd("POST", "/url", {"url": url})

    def cdp(self, command, **params):
        """A Chrome DevTools Protocol command (chromedriver's goog/cdp/execute)."""
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def on_new_document(self, source):
        """Runs `source` in every page this browser opens from now on, before the page's own
        scripts; returns an id for `drop_new_document`."""
        return self.cdp("Page.addScriptToEvaluateOnNewDocument", source=source)["identifier"]

    def drop_new_document(self, identifier):
        self.cdp("Page.removeScriptToEvaluateOnNewDocument", identifier=identifier)

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def wait_js(self, script, *args, timeout=None, what=None):
        """Polls `script` (returning a truthy value when done) and returns its value."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < (timeout or self.timeout):
            v = self.js(script, *args)
            if v:
                return v
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {what or script}; page says: {self.text('body')[:800]!r}")

    def text(self, selector):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                       selector) or ""

    def find(self, selector):
        el = self.cmd("POST", "/element", {"using": "css selector", "value": selector})
        return next(iter(el.values()))

    def click(self, selector):
        self.cmd("POST", f"/element/{self.find(selector)}/click", {})

    def upload(self, selector, path):
        """Chooses a file in an <input type=file> as a user would."""
        self.cmd("POST", f"/element/{self.find(selector)}/value", {"text": str(path)})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def element_shot(self, selector, path, settle=0.5):
        """A screenshot of one element, scrolled into view (after `settle` seconds, for a glide
        or a redraw to finish)."""
        self.js("document.querySelector(arguments[0]).scrollIntoView({block: 'start'});", selector)
        time.sleep(settle)
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", f"/element/{self.find(selector)}/screenshot")))

    def console_errors(self):
        try:
            logs = self.cmd("POST", "/se/log", {"type": "browser"}) or []
        except RuntimeError:
            return []
        return [l["message"] for l in logs if l.get("level") == "SEVERE"]
