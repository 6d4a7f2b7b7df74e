"""Open a report in a real browser (headless Chromium) and check what a reader would see.

``check_report`` loads report.html the way a manager's browser does, takes a screenshot and
reads the page back after rendering: every image must have decoded (no broken image), no code
cell may be visible, the named sections must be present, and nothing in the page may run script
but the report template's own. ``crm-report check-report`` runs it from the command line; the
end-to-end tests run it on every build.

Script from the page's content (a ``<script>``, an ``onerror=`` attribute, a ``javascript:`` link
that came in with the data) is found twice: by reading the HTML before any browser opens it, and
by listing what the browser's own parser built. The browser never runs it: both pages it opens
carry a Content-Security-Policy that blocks every script except the check's probe, so a page whose
script would pop up an ``alert()`` (which stops a headless browser for good) is reported, not
waited for. Each browser run is bounded by ``timeout`` seconds and killed with its child
processes when it takes longer.
"""

from __future__ import annotations

import functools
import html as _html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: Flags for a browser with no screen, no network and no profile: it must not phone home, and
#: it runs as root in CI.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files")
#: Elements that load or run something other than a picture or a style, and have no place in a report.
ACTIVE_ELEMENTS = ("iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background")
#: Written into the probe's copy of the page: after load, what the reader sees goes into the DOM,
#: so --dump-dom returns it. The page's content runs no script (see ``_policy``), so the probe is
#: the only one; what the browser parsed as script is listed for the check.
PROBE = """
<script nonce="{nonce}">
window.addEventListener('load', () => {{
  const imgs = Array.from(document.images);
  const attrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background'];
  const report = {{
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => (i.alt || i.src.slice(0, 40))),
    code_cells: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor, .input_area'))
                .filter(e => e.offsetParent !== null).length,
    headings: Array.from(document.querySelectorAll('h1, h2')).map(h => h.textContent.replace('¶', '').trim()),
    tables: document.querySelectorAll('table').length,
    scripts: Array.from(document.querySelectorAll('script')).filter(s => s.nonce !== '{nonce}')
             .map(s => [s.getAttribute('src') || '', s.getAttribute('type') || '', s.textContent]),
    handlers: Array.from(document.querySelectorAll('*')).flatMap(e => e.getAttributeNames()
             .filter(n => n.toLowerCase().startsWith('on')).map(n => [e.localName, n, e.getAttribute(n)])),
    urls: Array.from(document.querySelectorAll('*')).flatMap(e => attrs.filter(a => e.hasAttribute(a))
             .map(a => [e.localName, a, e.getAttribute(a).slice(0, 200)])),
    elements: Array.from(document.querySelectorAll('iframe, frame, frameset, object, embed, applet, portal, '
                                                   + 'meta[http-equiv="refresh" i]')).map(e => e.localName),
  }};
  const out = document.createElement('pre');
  out.id = 'crm-render-check-{nonce}';
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
}});
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
    #: Places where the page's content would run script (not the report template's own scripts).
    scripts: list[str] = field(default_factory=list)
    #: The page's title, as the browser tab shows it.
    title: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _script_key(src: str, kind: str, text: str) -> tuple[str, str, str]:
    return src.strip(), kind.strip().lower(), " ".join(text.split())


@functools.cache
def template_scripts() -> Counter:
    """The scripts the report template itself writes into every report (rendered from an empty notebook)."""
    import nbformat

    from crm_utils.run.pipeline import render_html

    with tempfile.TemporaryDirectory(prefix="crm-template-") as tmp:
        blank = Path(tmp) / "blank.ipynb"
        nbformat.write(nbformat.v4.new_notebook(), blank)
        text = render_html(blank, Path(tmp) / "blank.html").read_text(encoding="utf-8")
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    return Counter(_script_key(*s) for s in scanner.scripts)


def _is_script_url(tag: str, value: str) -> bool:
    """Whether a URL runs script when followed: ``javascript:``, ``vbscript:``, or a ``data:`` page that
    can hold script (HTML, SVG) anywhere but in an ``<img>``, where an SVG runs none."""
    url = re.sub(r"[\x00-\x20]", "", value or "").lower()
    if url.startswith(("javascript:", "vbscript:")):
        return True
    return tag != "img" and url.startswith(("data:text/html", "data:image/svg", "data:application/xhtml"))


def _findings(scripts, handlers, urls, elements=(), allowed: Counter | None = None) -> list[str]:
    """What in a page would run script, as short descriptions; the template's own scripts are allowed."""
    out = []
    extra = Counter(_script_key(*s) for s in scripts) - (allowed or Counter())
    for (src, kind, text), n in extra.items():
        what = f"<script src={src!r}>" if src else f"<script>{text[:60]}</script>"
        out.extend([what] * n)
    out += [f"<{tag} {name}={(value or '')[:60]!r}>" for tag, name, value in handlers]
    out += [f"<{tag} {name}={(value or '')[:60]!r}>" for tag, name, value in urls if _is_script_url(tag, value)]
    out += [f"<{tag}>" for tag in elements]
    return out


class _Scanner(HTMLParser):
    """Scripts, event-handler attributes, URLs and active elements of an HTML text, as a parser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[list[str]] = []
        self.handlers: list[tuple[str, str, str]] = []
        self.urls: list[tuple[str, str, str]] = []
        self.elements: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value or ""))
            elif name in URL_ATTRIBUTES:
                self.urls.append((tag, name, value or ""))
        if tag in ACTIVE_ELEMENTS or (tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh"):
            self.elements.append(tag)
        if tag == "script":
            a = dict(attrs)
            self._script = [a.get("src") or "", a.get("type") or "", ""]
            self.scripts.append(self._script)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._script = None

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[2] += data


def scan_html(text: str, allowed: Counter | None = None) -> list[str]:
    """Places in an HTML text that would run script, read without a browser: ``<script>`` elements
    other than ``allowed`` (the template's own), ``on...=`` attributes, ``javascript:`` URLs and
    frames, objects, ``<base>`` and refreshes. Empty when the page runs only its template's scripts."""
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    return _findings(scanner.scripts, scanner.handlers, scanner.urls, scanner.elements, allowed)


def _policy(nonce: str | None) -> str:
    """A Content-Security-Policy for a copy of the page: no script runs but the probe (given its nonce)."""
    script = f"script-src 'nonce-{nonce}'" if nonce else "script-src 'none'"
    return (f'<meta http-equiv="Content-Security-Policy" content="{script}; object-src \'none\'; '
            f'frame-src \'none\'; form-action \'none\'">')


def _guarded_copy(text: str, original: Path, nonce: str | None) -> str:
    """The page with, first in its head, the script-blocking policy and a base pointing at the original's
    folder (so relative paths resolve as they would there); with the probe when ``nonce`` is given."""
    head = f'<base href="{_html.escape(original.parent.as_uri() + "/")}">' + _policy(nonce)
    match = re.search(r"<head(\s[^>]*)?>", text, flags=re.IGNORECASE)
    text = text[:match.end()] + head + text[match.end():] if match else head + text
    if nonce:
        probe = PROBE.format(nonce=nonce)
        end = text.lower().rfind("</body>")
        text = text[:end] + probe + text[end:] if end >= 0 else text + probe
    return text


def _browser(args: list[str], what: str, timeout: float) -> subprocess.CompletedProcess:
    """Run the browser with a bound: past ``timeout`` seconds it is killed with all its processes."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a helper outside the group holds the pipes: stop waiting
            pass
        raise RuntimeError(f"the browser did not finish {what} within {timeout:g} s and was stopped") from None
    finally:
        try:  # renderer and helper processes the browser left behind
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


#: Page titles that say nothing: none, or nbconvert's default for a notebook read without a name.
UNTITLED = ("", "Notebook")


def check_report(html: str | Path, screenshot: str | Path | None = None, expect_headings: tuple[str, ...] = (),
                 browser: str | None = None, width: int = 1280, height: int = 8000, timeout: int = 60) -> RenderCheck:
    """Render ``html`` headless, screenshot it, and list what a reader would find wrong.

    Script in the page's content is a problem (``RenderCheck.scripts``), never run: the browser
    sees the page with all script blocked but the check's own probe. A browser run that takes
    longer than ``timeout`` seconds is stopped with a ``RuntimeError``.
    """
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found; install Debian's 'chromium' package (apt-get install chromium)")
    html = Path(html).resolve()
    text = html.read_text(encoding="utf-8")
    allowed = template_scripts()
    found_before = scan_html(text, allowed)
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="crm-render-") as tmp:
        probe, shown = Path(tmp) / f"probe-{html.name}", Path(tmp) / html.name
        probe.write_text(_guarded_copy(text, html, nonce), encoding="utf-8")
        shown.write_text(_guarded_copy(text, html, None), encoding="utf-8")
        hint = f" ({len(found_before)} place(s) in it would run script)" if found_before else ""
        dom = _browser([browser, *FLAGS, "--user-data-dir=" + str(Path(tmp) / "profile"),
                        "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                       f"rendering {html.name}{hint}", timeout)
        if screenshot:
            screenshot = Path(screenshot).resolve()
            screenshot.unlink(missing_ok=True)  # so that a screenshot found afterwards is this one
            shot = _browser([browser, *FLAGS, "--user-data-dir=" + str(Path(tmp) / "profile-shot"),
                             f"--window-size={width},{height}", f"--screenshot={screenshot}", shown.as_uri()],
                            f"the screenshot of {html.name}{hint}", timeout)
            if shot.returncode != 0 or not screenshot.exists():
                raise RuntimeError(f"the browser wrote no screenshot of {html.name}: {shot.stderr.strip()[-500:]}")
    marker = f'<pre id="crm-render-check-{nonce}">'
    if marker not in dom.stdout:
        raise RuntimeError(f"the browser did not render {html.name}: {dom.stderr.strip()[-500:]}")
    found = json.loads(_html.unescape(dom.stdout.split(marker, 1)[1].split("</pre>", 1)[0]))
    seen = _findings(found["scripts"], found["handlers"], found["urls"], found["elements"], allowed=allowed)
    # The same places, read twice: each counted as often as the reading that found it more often.
    result = RenderCheck(found["images"], found["broken"], found["code_cells"], found["headings"], found["tables"],
                         Path(screenshot) if screenshot else None,
                         scripts=list((Counter(found_before) | Counter(seen)).elements()))
    titled = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    result.title = _html.unescape(titled.group(1)).strip() if titled else ""
    if result.title in UNTITLED:
        result.problems.append(f"the browser tab reads {result.title or 'nothing'!r}, not the report's title")
    if result.scripts:
        result.problems.append(f"{len(result.scripts)} place(s) in the page would run script that is not the report "
                               f"template's (blocked in this check): {', '.join(result.scripts[:3])}")
    if result.broken:
        result.problems.append(f"{len(result.broken)} of {result.images} images did not load: {result.broken[:3]}")
    if result.code_cells:
        result.problems.append(f"{result.code_cells} code cells are visible")
    for h in expect_headings:
        if not any(h.lower() in x.lower() for x in result.headings):
            result.problems.append(f"section '{h}' is missing")
    return result
