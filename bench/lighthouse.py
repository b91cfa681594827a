"""`make lighthouse`: a phone's first visit to each main page, by Lighthouse.

The app runs as `make run` runs it without Redis (gunicorn, one worker with 8
threads) on SQLite with the demo data at bench scale (bench/pages.py).
Lighthouse 12.8.2 (pinned in bench/lighthouse/package.json) drives the
machine's chromium with its default mobile settings: a phone's screen,
simulated slow 4G and 4x CPU slowdown. Signed-in pages get the session cookie
through --extra-headers. Each page runs three times; each figure is the median.

Writes the "Lighthouse" section of docs/performance.md and the JSON reports to
bench/results/lighthouse-<time>/. Settings from the environment: LH_RUNS (3),
CHROME_PATH (/usr/bin/chromium), LH_PAGES (names from bench/pages.py, comma-separated:
measure only those, to look into one page; docs/performance.md is then left as it is). `python -m bench.lighthouse --render
bench/results/<run>/report.json` writes the section again from a run's saved figures.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

from . import common
from .common import ROOT, Gunicorn, log, median
from .pages import PAGES, SCALE, USER

RUNS = int(os.environ.get("LH_RUNS", "3"))
CHROME_PATH = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
RETRIES = int(os.environ.get("BENCH_RETRIES", "6"))  # runs repeated per page when others disturbed them
ONLY = {name.strip() for name in os.environ.get("LH_PAGES", "").split(",") if name.strip()}
FIGURES = ("score", "lcp", "fcp", "tbt", "cls", "si", "others")
TARGET_SCORE = 98
TARGET_LCP_MS = 1500


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def lighthouse(url: str, cookie: str | None, output: Path, server_pid: int) -> dict:
    command = ["node", str(LIGHTHOUSE), url, "--output=json", f"--output-path={output}",
               "--only-categories=performance", f"--chrome-flags={CHROME_FLAGS}", "--quiet"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": f"session={cookie}"}))
    busy, server, started = common.cpu_busy_seconds(), common.tree_cpu_seconds(server_pid), time.monotonic()
    done, browser = common.run_sampled(command, cwd=ROOT, env=os.environ | {"CHROME_PATH": CHROME_PATH})
    seconds = time.monotonic() - started
    ours = common.tree_cpu_seconds(server_pid) - server + browser
    others = max(0.0, common.cpu_busy_seconds() - busy - ours) / (seconds * common.cores())
    if done.returncode or not output.exists():
        raise SystemExit(f"Lighthouse failed on {url}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(output.read_text())
    if report.get("runtimeError"):
        raise SystemExit(f"Lighthouse on {url}: {report['runtimeError']}")
    final = report.get("finalDisplayedUrl") or report.get("finalUrl")
    if final != url:
        raise SystemExit(f"Lighthouse on {url} ended at {final}: not the page meant (signed out?)")
    audits = report["audits"]
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "fcp": audits["first-contentful-paint"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "si": audits["speed-index"]["numericValue"],
        "lcp_element": _lcp_element(audits),
        "settings": report["configSettings"],
        "lighthouse": report["lighthouseVersion"],
        "chrome": report["environment"]["hostUserAgent"],
        "others": others,
    }


def _lcp_element(audits: dict) -> str:
    try:
        items = audits["largest-contentful-paint-element"]["details"]["items"][0]["items"]
        return items[0]["node"].get("snippet", "")
    except (KeyError, IndexError, TypeError):
        return ""


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        # Write the section again from a run's saved figures (after changing how it reads).
        common.write_section("lighthouse", "Lighthouse", render(json.loads(Path(sys.argv[2]).read_text())))
        return
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is not installed: run `make lighthouse` (npm ci in bench/lighthouse)")
    pages = [page for page in PAGES if not ONLY or page[0] in ONLY]
    unknown = ONLY - {name for name, _, _ in PAGES}
    if unknown:
        raise SystemExit(f"LH_PAGES: not a page of bench/pages.py: {', '.join(sorted(unknown))}")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = common.RESULTS / f"lighthouse-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": common.machine(), "pages": {}, "chromium": chromium_version(),
              "node": common.version_of(["node", "--version"]).lstrip("v")}
    log(f"results in {out.relative_to(ROOT)}")
    secret = secrets.token_hex(32)
    with (tempfile.TemporaryDirectory(prefix="communitarium-lighthouse-") as folder,
          common.sqlite_database(Path(folder)) as url):
        log(f"SQLite: migrating and seeding the demo data (scale {SCALE})")
        common.prepare(url, secret, SCALE, out / "prepare.log")
        cookie = common.session_cookie(url, secret, USER)
        # As `make run` without REDIS_URL: one worker, 8 threads, counters in memory.
        env = common.app_env(url, secret)
        with Gunicorn("wsgi:app", env, out / "gunicorn.log", workers=1, threads=8,
                      ready_path="/auth/login") as server:
            common.check_pages(server.base_url, PAGES, cookie)
            for name, path, signed_in in pages:
                runs, retries = [], RETRIES
                while len(runs) < RUNS:
                    common.wait_until_quiet()
                    run = lighthouse(server.base_url + path, cookie if signed_in else None,
                                     out / f"{slug(name)}-{len(runs) + 1}.json", server.process.pid)
                    if run["others"] > common.QUIET_SHARE and retries:
                        # Someone else's work took the CPU: the trace is slowed; measure again.
                        retries -= 1
                        log(f"  a run of {name} was disturbed (others used {run['others']:.0%} of the CPU); "
                            "again")
                        continue
                    runs.append(run)
                page = {key: median([r[key] for r in runs]) for key in FIGURES}
                page |= {"path": path, "runs": [{k: r[k] for k in FIGURES} for r in runs],
                         "lcp_element": runs[-1]["lcp_element"]}
                page["misses"] = [m for m in (
                    f"score {page['score']:.0f} < {TARGET_SCORE}" if page["score"] < TARGET_SCORE else "",
                    f"LCP {page['lcp'] / 1000:.2f} s > {TARGET_LCP_MS / 1000:.1f} s"
                    if page["lcp"] > TARGET_LCP_MS else "") if m]
                report["pages"][name] = page
                log(f"  {name}: score {page['score']:.0f}, LCP {page['lcp'] / 1000:.2f} s, "
                    f"FCP {page['fcp'] / 1000:.2f} s, TBT {page['tbt']:.0f} ms, CLS {page['cls']:.3f}"
                    f" (scores {', '.join(str(r['score']) for r in runs)}; others used {page['others']:.0%})")
        report["lighthouse"] = runs[-1]["lighthouse"]
        report["chrome"] = runs[-1]["chrome"]
        report["settings"] = runs[-1]["settings"]
        report["members"] = _members(url)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    if ONLY:
        log("LH_PAGES was set: docs/performance.md is left as it is")
    else:
        common.write_section("lighthouse", "Lighthouse", render(report))
    missed = [(name, page["misses"]) for name, page in report["pages"].items() if page["misses"]]
    for name, why in missed:
        log(f"MISSED {name}: {'; '.join(why)}")
    log("all pages meet the targets" if not missed else f"{len(missed)} page(s) miss a target")


def _members(url: str) -> int:
    from .run import members_of_elm_street

    return members_of_elm_street(url)


def chromium_version() -> str:
    found = re.search(r"\d+\.\d+\.\d+\.\d+", common.version_of([CHROME_PATH, "--version"]))
    return found.group(0) if found else "unknown"


def render(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    throttling = s["throttling"]
    lines = [
        f"Measured {m['date']} by `make lighthouse` (bench/lighthouse.py).",
        "",
        f"- **Machine:** {common.machine_line(m)}.",
        (f"- **Lighthouse {report['lighthouse']}** (pinned in `bench/lighthouse/package.json`) on Node "
        f"{report.get('node') or common.version_of(['node', '--version']).lstrip('v')}, driving {CHROME_PATH} "
        f"(Chromium {report.get('chromium') or chromium_version()}) with `{CHROME_FLAGS}`."),
        (f"- **Settings:** the default mobile preset: form factor {s['formFactor']}, "
        f"{s['screenEmulation']['width']}×{s['screenEmulation']['height']} screen, throttling "
        f"{s['throttlingMethod']} ({throttling['rttMs']:.0f} ms RTT, "
        f"{throttling['throughputKbps'] / 1000:.1f} Mbit/s down, {throttling['cpuSlowdownMultiplier']:.0f}× CPU "
        f"slowdown: slow 4G on a mid-range phone); performance category only; storage cleared before each "
        f"run, so every run is a first visit."),
        (f"- **App:** gunicorn as `make run` starts it without `REDIS_URL` (one worker, 8 threads) on SQLite "
        f"with `seed_demo(scale={SCALE})` (Elm Street: {report['members']} members); signed-in pages as "
        f"{USER} (session cookie through `--extra-headers`), the sign-in page without it."),
        (f"- Each page runs {RUNS} times; each figure is the median of the runs. Lighthouse's simulated "
        f"throttling scales the CPU work it observed, so other people's processes on the machine make a "
        f"page look slower: before each run the script waits (up to {common.QUIET_WAIT:.0f} s) until others "
        f"use less than {common.QUIET_SHARE:.0%} of the machine, and a run during which they used more is "
        f"run again (up to {RETRIES} times per page). \"Others' CPU\" is their median share during the runs."),
        f"- **Targets:** performance score ≥ {TARGET_SCORE}, LCP ≤ {TARGET_LCP_MS / 1000:.1f} s.",
        "",
        "| page | path | score | LCP | FCP | TBT | CLS | Speed Index | scores of the runs | others' CPU | targets |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|",
    ]
    for name, page in report["pages"].items():
        verdict = "met" if not page["misses"] else "**missed**: " + "; ".join(page["misses"])
        lines.append(
            f"| {name} | `{page['path']}` | {page['score']:.0f} | {page['lcp'] / 1000:.2f} s "
            f"| {page['fcp'] / 1000:.2f} s | {page['tbt']:.0f} ms | {page['cls']:.3f} | {page['si'] / 1000:.2f} s "
            f"| {', '.join(str(r['score']) for r in page['runs'])} | {page['others']:.0%} | {verdict} |")
    missed = [n for n, p in report["pages"].items() if p["misses"]]
    lines += ["", "All pages meet the targets." if not missed else f"Missed: {', '.join(missed)}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
