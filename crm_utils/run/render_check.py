"""Open a report in a real browser (headless Chromium) and check what a reader would see.

``check_report`` loads report.html the way a manager's browser does, takes a screenshot and
reads the page back after rendering: every image must have decoded (no broken image), no code
cell may be visible, and the named sections must be present. ``crm-report check-report`` runs
it from the command line; the end-to-end tests run it on every build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: Flags for a browser with no screen, no network and no profile: it must not phone home, and
#: it runs as root in CI.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files")
#: After the page has loaded, write what the reader sees into the DOM so --dump-dom returns it.
PROBE = """
<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const report = {
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => (i.alt || i.src.slice(0, 40))),
    code_cells: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor, .input_area'))
                .filter(e => e.offsetParent !== null).length,
    headings: Array.from(document.querySelectorAll('h1, h2')).map(h => h.textContent.replace('¶', '').trim()),
    tables: document.querySelectorAll('table').length,
  };
  const out = document.createElement('pre');
  out.id = 'crm-render-check';
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
});
</script>
"""


def find_browser() -> str | None:
    """The path of a Chromium-family browser on this machine, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class RenderCheck:
    images: int
    broken: list[str]
    code_cells: int
    headings: list[str]
    tables: int
    screenshot: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_report(html: str | Path, screenshot: str | Path | None = None, expect_headings: tuple[str, ...] = (),
                 browser: str | None = None, width: int = 1280, height: int = 8000, timeout: int = 120) -> RenderCheck:
    """Render ``html`` headless, screenshot it, and list what a reader would find wrong."""
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found; install Debian's 'chromium' package (apt-get install chromium)")
    html = Path(html).resolve()
    with tempfile.TemporaryDirectory(prefix="crm-render-") as tmp:
        probe = Path(tmp) / html.name
        text = html.read_text(encoding="utf-8")
        probe.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
        profile = ["--user-data-dir=" + str(Path(tmp) / "profile")]
        dom = subprocess.run([browser, *FLAGS, *profile, "--virtual-time-budget=10000", "--dump-dom",
                              probe.as_uri()], capture_output=True, text=True, timeout=timeout)
        if screenshot:
            screenshot = Path(screenshot).resolve()
            subprocess.run([browser, *FLAGS, *profile, f"--window-size={width},{height}",
                            f"--screenshot={screenshot}", html.as_uri()],
                           capture_output=True, text=True, timeout=timeout, check=True)
    marker = '<pre id="crm-render-check">'
    if marker not in dom.stdout:
        raise RuntimeError(f"the browser did not render {html.name}: {dom.stderr.strip()[-500:]}")
    raw = dom.stdout.split(marker, 1)[1].split("</pre>", 1)[0]
    found = json.loads(raw.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    result = RenderCheck(found["images"], found["broken"], found["code_cells"], found["headings"], found["tables"],
                         Path(screenshot) if screenshot else None)
    if result.broken:
        result.problems.append(f"{len(result.broken)} of {result.images} images did not load: {result.broken[:3]}")
    if result.code_cells:
        result.problems.append(f"{result.code_cells} code cells are visible")
    for h in expect_headings:
        if not any(h.lower() in x.lower() for x in result.headings):
            result.problems.append(f"section '{h}' is missing")
    return result
