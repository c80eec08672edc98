#!/usr/bin/env python3
"""Open a page in headless Chromium (driven in real time through chromedriver) and report what
the page sees: title, body text, console errors, and WebGPU (adapter + a tiny compute dispatch).

Standard library only. Uses Debian's /usr/bin/chromium and /usr/bin/chromedriver with the flags
that give headless Chromium a working WebGPU (SwiftShader). Prints one JSON object; exits 1 if
the page did not load or WebGPU did not work (unless --no-require-webgpu).

    python3 scripts/browser-probe.py http://127.0.0.1:8080/ [--screenshot out.png]
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wbdriver import BASE_ARGS, WEBGPU_ARGS  # noqa: E402

CHROMIUM_ARGS = BASE_ARGS + WEBGPU_ARGS

# Runs in the page (WebDriver executeAsyncScript): the last argument is the callback.
WEBGPU_SCRIPT = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const out = { has_gpu: !!navigator.gpu };
  if (!navigator.gpu) return out;
  const adapter = await navigator.gpu.requestAdapter();
  out.adapter = !!adapter;
  if (!adapter) return out;
  const info = adapter.info || {};
  out.adapter_info = { vendor: info.vendor, architecture: info.architecture,
                       device: info.device, description: info.description };
  out.is_fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter;
  out.features = [...adapter.features].sort();
  out.limits = { maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
                 maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
                 maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup };
  const device = await adapter.requestDevice();
  // A real compute dispatch with read-back: data[i] = data[i] * 2 + 1.
  const n = 64;
  const module = device.createShaderModule({ code: `
    @group(0) @binding(0) var<storage, read_write> data: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
      data[id.x] = data[id.x] * 2.0 + 1.0;
    }` });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, new Float32Array([...Array(n).keys()]));
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(1); pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  out.compute_ok = got.every((v, i) => v === i * 2 + 1);
  out.compute_sample = [...got.slice(0, 4)];
  return out;
})().then(done, (e) => done({ error: String(e && e.stack || e) }));
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, timeout=120):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.code} {e.read()[:500]!r}") from None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--screenshot", help="write a PNG of the page here")
    ap.add_argument("--wait-selector", default="body *",
                    help="CSS selector that must appear before the page counts as loaded")
    ap.add_argument("--text-selector",
                    help="also report the full text of this element as selected_text")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-require-webgpu", action="store_true")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    a = ap.parse_args()

    port = free_port()
    profile = tempfile.mkdtemp(prefix="wb-chromium-")
    drv = subprocess.Popen([a.chromedriver, f"--port={port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wd = WebDriver(f"http://127.0.0.1:{port}")
    session = None
    report = {"url": a.url}
    ok = False
    try:
        for _ in range(100):
            try:
                wd.call("GET", "/status", timeout=2)
                break
            except Exception:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": a.chromium,
                                   "args": CHROMIUM_ARGS + [f"--user-data-dir={profile}"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        session = wd.call("POST", "/session", caps)["sessionId"]
        s = f"/session/{session}"
        wd.call("POST", f"{s}/timeouts", {"script": int(a.timeout * 1000), "pageLoad": int(a.timeout * 1000)})
        t0 = time.monotonic()
        wd.call("POST", f"{s}/url", {"url": a.url})
        loaded = False
        while time.monotonic() - t0 < a.timeout:
            found = wd.call("POST", f"{s}/execute/sync",
                            {"script": "return !!document.querySelector(arguments[0]);", "args": [a.wait_selector]})
            if found:
                loaded = True
                break
            time.sleep(0.1)
        report["loaded"] = loaded
        report["load_s"] = round(time.monotonic() - t0, 2)
        report["title"] = wd.call("POST", f"{s}/execute/sync", {"script": "return document.title;", "args": []})
        report["body_text"] = wd.call("POST", f"{s}/execute/sync",
                                      {"script": "return document.body.innerText.slice(0, 500);", "args": []})
        if a.text_selector:
            report["selected_text"] = wd.call("POST", f"{s}/execute/sync", {
                "script": "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                "args": [a.text_selector]})
        report["webgpu"] = wd.call("POST", f"{s}/execute/async", {"script": WEBGPU_SCRIPT, "args": []})
        try:
            logs = wd.call("POST", f"{s}/se/log", {"type": "browser"}) or []
            report["console_errors"] = [l["message"] for l in logs if l.get("level") == "SEVERE"]
        except RuntimeError:
            report["console_errors"] = None
        if a.screenshot:
            png = wd.call("GET", f"{s}/screenshot")
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(png))
            report["screenshot"] = a.screenshot
        gpu = report["webgpu"] or {}
        ok = loaded and (a.no_require_webgpu or bool(gpu.get("compute_ok")))
    except Exception as e:  # report, don't trace: this is a probe
        report["error"] = str(e)
    finally:
        if session:
            try:
                wd.call("DELETE", f"/session/{session}", timeout=10)
            except Exception:
                pass
        drv.terminate()
        try:
            drv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            drv.kill()
        shutil.rmtree(profile, ignore_errors=True)
    report["ok"] = ok
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
