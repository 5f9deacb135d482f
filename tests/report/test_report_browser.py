"""The HTML report in a real browser (Debian's headless Chromium): every image loads, no script error."""

import shutil
import subprocess

import pytest

from dnncomp.report.layout import FIGURES

pytestmark = pytest.mark.slow

CHECK = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target && e.target.src)), true);
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.setAttribute('data-check', `images=${imgs.length} broken=${broken} errors=${window.__errors.length}`);
});
</script>"""

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.skip("headless Chromium is not installed: run `make ci-deps` (as root: apt-get install chromium)")
    return path


def run_chromium(args, profile, timeout=120):
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout
    )


def test_report_loads_in_chromium_with_every_image(study, tmp_path):
    workdir, _ = study
    report = workdir / "results" / "report.html"
    checked = tmp_path / "checked.html"
    checked.write_text(report.read_text().replace("<body>", "<body>" + CHECK, 1))
    dom = run_chromium(["--virtual-time-budget=5000", "--dump-dom", checked.as_uri()], tmp_path / "profile").stdout
    images = len(FIGURES) + 2  # the study's figures and one sensitivity figure per model of the tiny study
    assert f'data-check="images={images} broken=0 errors=0"' in dom, dom[-2000:]
    screenshot = workdir / "results" / "report_screenshot.png"
    run_chromium(["--window-size=1280,2400", f"--screenshot={screenshot}", report.as_uri()], tmp_path / "profile2")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
