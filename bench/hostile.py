"""Hostile inputs, one process each: outcome, time and peak RSS (issue 16).

Usage: .venv/bin/python bench/hostile.py [--paths cli,api,feed] [--only NAME,...] [--json]

Every input class (empty, binary, 50 MB, 100 MB, invalid UTF-8, UTF-16, deep nesting, 10 MB
one line, NUL bytes, entity bombs, junk HTML pages, and an ordinary article) is generated into
a temporary folder and put through:

- `cli`: what `wirewatch ingest` does (read_inputs, then ingest or reject), in a fresh process;
- `api`: `POST /v1/articles` to a fresh `wirewatch serve` process (embedded mode); the client
  polls `/healthz` while the request runs and reports its slowest answer;
- `feed`: `parse_feed` of the body, for the XML classes (entity bombs, deep nesting).

Peak RSS is the process's high-water mark (VmHWM), imports included (their share is printed as
`base`). Targets: no input over 5 s or 500 MB; a 10 MB article costs at most 3x the time per MB
of an ordinary one (measured with the article limits lifted, since by default it is refused).
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
MB = 1_000_000
DEEP = 100_000
TOKEN = "bench-token-0123456789"
TARGET_S, TARGET_MB, TARGET_RATIO = 5.0, 500.0, 3.0


# -- the inputs ---------------------------------------------------------------------------------
def _seed_text() -> str:
    return "\n\n".join(p.read_text(encoding="utf-8") for p in SEEDS)


def _words(n_bytes: int, seed: int = 1) -> str:
    """Wire words in random order, about `n_bytes` long, on one line."""
    words = _seed_text().split()
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n_bytes:
        w = rnd.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n_bytes]


def _article(n_bytes: int) -> str:
    """An article of `n_bytes`: the seeds' paragraphs, shuffled and made unique."""
    paragraphs = [p for p in _seed_text().split("\n") if len(p) > 80]
    rnd = random.Random(2)
    out, size, i = ["Ceasefire talks in Istanbul"], 0, 0
    while size < n_bytes:
        p = f"{rnd.choice(paragraphs)} (Update {i}.)"
        out.append(p)
        size += len(p.encode()) + 2
        i += 1
    return "\n\n".join(out)


_BOMB = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


def _write_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, HTTP content type). Big files are written in chunks."""
    seed = SEEDS[0].read_text(encoding="utf-8")
    links = "".join(
        f'<p><a href="/x{i}">Link text number {i} here</a> and a few words {i}.</p>'
        for i in range(8000)
    )
    table = (
        "<tr>" + "<td>1</td>" * 200 + "</tr>" + ("<tr>" + "<td>cell</td>" * 20 + "</tr>") * 20_000
    )
    items: dict[str, tuple[str, bytes | Callable[[Any], None], str]] = {
        "ordinary article": ("ordinary.txt", seed.encode(), "text/plain"),
        "empty": ("empty.txt", b"", "text/plain"),
        "binary": ("binary.bin", random.Random(3).randbytes(MB), "text/plain"),
        "50 MB": ("50mb.txt", lambda f: _chunks(f, 50 * MB), "text/plain"),
        "100 MB": ("100mb.txt", lambda f: _chunks(f, 100 * MB), "text/plain"),
        "invalid UTF-8": ("bad-utf8.txt", seed.encode()[:2000] + b"\xff\xfe\xc3" + seed.encode()[2000:], "text/plain"),  # noqa: E501
        "UTF-16": ("utf16.txt", codecs.BOM_UTF16_LE + seed.encode("utf-16-le"), "text/plain"),
        "deep JSON arrays": ("deep-arrays.json", ("[" * DEEP + "]" * DEEP).encode(), "application/json"),  # noqa: E501
        "deep JSON objects": ("deep-objects.json", ('{"a":' * DEEP + "1" + "}" * DEEP).encode(), "application/json"),  # noqa: E501
        "deep HTML": ("deep.html", ("<div>" * DEEP + seed + "</div>" * DEEP).encode(), "text/html"),
        "10 MB one line": ("one-line.txt", _words(int(9.9 * MB)).encode(), "text/plain"),
        "10 MB article": ("article-10mb.txt", _article(int(9.9 * MB)).encode(), "text/plain"),
        "NUL bytes": ("nul.txt", seed.replace(" ", " \x00", 200).encode(), "text/plain"),
        "NUL in JSON": ("nul.json", json.dumps({"html": "<p>" + seed.replace(" ", "\x00 ") + "</p>"}).encode(), "application/json"),  # noqa: E501
        "entity bomb HTML": ("bomb.html", (_BOMB + "<html><body><p>&lol9;</p><p>" + seed + "</p></body></html>").encode(), "text/html"),  # noqa: E501
        "entity bomb feed": ("bomb.xml", (f'<?xml version="1.0"?>{_BOMB}<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>').encode(), "application/xml"),  # noqa: E501
        "junk HTML: link farm": ("links.html", f"<html><body><article>{links}</article></body></html>".encode(), "text/html"),  # noqa: E501
        "junk HTML: wide table": ("table.html", f"<html><body><table>{table}</table><p>{seed[:2000]}</p></body></html>".encode(), "text/html"),  # noqa: E501
        "junk HTML: 8 MB script": ("script.html", ("<html><body><script>" + "var a=1;" * MB + "</script><p>" + seed + "</p></body></html>").encode(), "text/html"),  # noqa: E501
        "junk HTML: 5 MB attribute": ("attr.html", ('<html><body><div class="' + "c" * (5 * MB) + '"><p>' + seed + "</p></div></body></html>").encode(), "text/html"),  # noqa: E501
        "junk HTML: tag soup": ("soup.html", ("<b><i><u>" * 100_000 + seed).encode(), "text/html"),
    }  # fmt: skip
    out = {}
    for name, (filename, data, content_type) in items.items():
        path = folder / filename
        with path.open("wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
        out[name] = (path, content_type)
    return out


def _chunks(f: Any, size: int) -> None:
    block = (_words(MB) + "\n").encode()
    for _ in range(size // len(block) + 1):
        f.write(block)


# -- children: one input each --------------------------------------------------------------------
def _peak_mb() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would carry the parent's over the exec)."""
    return _vm_hwm_mb(os.getpid())


def _lift_limits() -> None:
    from worker.pipeline import facts

    facts.LIMITS = facts.TextLimits(
        max_article_chars=10**9, max_article_facts=10**9, max_sentence_chars=1000,
        max_sentence_units=100,
    )  # fmt: skip


def child_cli(paths: list[str], db: str, *, lifted: bool, warm: bool) -> dict[str, Any]:
    """What `wirewatch ingest` does with `paths`, timed after the imports."""
    sys.path.insert(0, str(REPO))
    from worker import Pipeline, Settings
    from worker.inputs import read_inputs
    from worker.json_articles import JsonLimits

    overrides: dict[str, Any] = {"max_input_bytes": 200 * MB} if lifted else {}
    if lifted:
        _lift_limits()
    settings = Settings(db_path=db, **overrides)
    if warm:  # one-time costs (extractor config, stopwords) are not the article's
        from worker.models import Document

        scratch = Pipeline(Settings(db_path=db + ".warm"))
        scratch_store = scratch.open_store()
        warm_doc = Document("warm", SEEDS[-1].read_text(encoding="utf-8"), "text")
        scratch.ingest(warm_doc, scratch_store, now=time.time())
        scratch_store.close()
    base = _peak_mb()
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    outcomes = []
    started = time.perf_counter()
    try:
        items = read_inputs(paths, stdin=sys.stdin.buffer, max_bytes=settings.max_input_bytes,
                            limits=JsonLimits.from_settings(settings))  # fmt: skip
        for origin, doc in items:
            if isinstance(doc, Exception):
                r = pipeline.reject(origin, doc, store, now=time.time())
            else:
                r = pipeline.ingest(doc, store, now=time.time())
            outcomes.append(r.status if r.status != "rejected" else (r.error or "").split(":")[0])
    except BaseException as exc:  # the bench reports a crash instead of dying with it
        outcomes.append(f"CRASH {type(exc).__name__}: {str(exc)[:80]}")
    seconds = time.perf_counter() - started
    store.close()
    return {"outcome": ",".join(outcomes), "seconds": seconds, "peak_mb": _peak_mb(),
            "base_mb": base}  # fmt: skip


def child_feed(path: str) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    import worker  # noqa: F401 -- the package first (it wires the pipeline modules)
    from worker.pipeline.feeds import parse_feed

    base = _peak_mb()
    body = Path(path).read_bytes()
    started = time.perf_counter()
    try:
        parsed = parse_feed(body, url="http://bench.invalid/feed")
        outcome = f"parsed, {len(parsed.entries)} entries"
    except Exception as exc:
        outcome = getattr(exc, "reason", f"CRASH {type(exc).__name__}")
    return {"outcome": outcome, "seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "base_mb": base}  # fmt: skip


def child_serve(port: int, db: str) -> None:
    """`wirewatch serve` in embedded mode, as the CLI runs it."""
    sys.path.insert(0, str(REPO))
    from worker.api import create_app
    from worker.api.server import run
    from worker.config import Settings

    run(create_app(Settings(db_path=db, api_token=TOKEN)), host="127.0.0.1", port=port,
        log_level="warning")  # fmt: skip


# -- the parent ------------------------------------------------------------------------------
def _run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         cwd=REPO, timeout=600)  # fmt: skip
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if not lines:
        return {
            "outcome": f"CRASH exit {out.returncode}: {out.stderr.strip()[-200:]}",
            "seconds": float("nan"),
            "peak_mb": float("nan"),
            "base_mb": float("nan"),
        }
    return dict(json.loads(lines[-1]))


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_api(path: Path, content_type: str, tmp: Path) -> dict[str, Any]:
    import httpx

    port, db = _free_port(), str(tmp / f"api-{path.name}.db")
    server = subprocess.Popen(
        [sys.executable, __file__, "--child-serve", str(port), db],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            base = _vm_hwm_mb(server.pid)
            worst, done = [0.0], threading.Event()

            def watch() -> None:
                with httpx.Client(base_url=url, timeout=60) as probe:
                    while not done.is_set():
                        t = time.perf_counter()
                        try:
                            probe.get("/healthz")
                        except httpx.HTTPError:
                            pass  # the server went away: the request's outcome says why
                        worst[0] = max(worst[0], time.perf_counter() - t)
                        done.wait(0.1)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
            started = time.perf_counter()
            try:
                with path.open("rb") as body:
                    r = client.post("/v1/articles", content=body.read(), headers=headers)
                body = r.json() if r.headers.get("content-type") == "application/json" else {}
                code = (body.get("error") or {}).get("code") or body.get("status")
                outcome = f"{r.status_code} {code}"
            except httpx.HTTPError as exc:
                outcome = f"client {type(exc).__name__}"
            seconds = time.perf_counter() - started
            done.set()
            watcher.join(10)
        return {"outcome": outcome, "seconds": seconds, "peak_mb": _vm_hwm_mb(server.pid),
                "base_mb": base, "healthz_ms": worst[0] * 1000}  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


_FEED_CLASSES = ("entity bomb feed", "deep HTML", "junk HTML: tag soup")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", default="cli,api,feed")
    parser.add_argument("--only", default="", help="comma-separated class names")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child-cli", nargs=2, metavar=("FILE", "DB"))
    parser.add_argument("--child-feed", metavar="FILE")
    parser.add_argument("--child-serve", nargs=2, metavar=("PORT", "DB"))
    parser.add_argument("--lifted", action="store_true")
    parser.add_argument("--warm", action="store_true")
    args = parser.parse_args()
    if args.child_cli:
        paths = args.child_cli[0].split(os.pathsep)
        print(json.dumps(child_cli(paths, args.child_cli[1], lifted=args.lifted, warm=args.warm)))
        return 0
    if args.child_feed:
        print(json.dumps(child_feed(args.child_feed)))
        return 0
    if args.child_serve:
        child_serve(int(args.child_serve[0]), args.child_serve[1])
        return 0

    paths = set(args.paths.split(","))
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    rows: list[dict[str, Any]] = []
    if not args.json:
        print(f"{'input':28} path      MB       s  peak MB base MB healthz  outcome")
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        tmp = Path(folder)
        inputs = _write_inputs(tmp)
        for name, (path, content_type) in inputs.items():
            if only and name not in only:
                continue
            size = path.stat().st_size / MB
            mine: list[dict[str, Any]] = []
            if "cli" in paths:
                m = _run_child(["--child-cli", str(path), str(tmp / f"cli-{path.name}.db")])
                mine.append({"input": name, "path": "cli", "mb": size, **m})
            if "api" in paths:
                m = measure_api(path, content_type, tmp)
                mine.append({"input": name, "path": "api", "mb": size, **m})
            if "feed" in paths and name in _FEED_CLASSES:
                m = _run_child(["--child-feed", str(path)])
                mine.append({"input": name, "path": "feed", "mb": size, **m})
            for row in mine if not args.json else ():
                _print_row(row)
            rows.extend(mine)
        ratio = _per_mb_ratio(inputs, tmp) if not only or "10 MB article" in only else None
    if args.json:
        print(json.dumps({"rows": rows, "ratio": ratio}, indent=2))
    else:
        _print_summary(rows, ratio)
    return 0


def _per_mb_ratio(inputs: dict[str, tuple[Path, str]], tmp: Path) -> dict[str, float]:
    """Seconds per MB of the 10 MB article (limits lifted) against the ordinary seeds."""
    seeds = os.pathsep.join(str(p) for p in SEEDS)
    ordinary = _run_child(["--child-cli", seeds, str(tmp / "ordinary.db"), "--warm"])
    big_path = inputs["10 MB article"][0]
    big = _run_child(["--child-cli", str(big_path), str(tmp / "big.db"), "--warm", "--lifted"])
    seed_mb = sum(p.stat().st_size for p in SEEDS) / MB
    per_ordinary = ordinary["seconds"] / seed_mb
    per_big = big["seconds"] / (big_path.stat().st_size / MB)
    return {
        "ordinary_s_per_mb": per_ordinary,
        "article_10mb_s_per_mb": per_big,
        "ratio": per_big / per_ordinary,
        "article_10mb_seconds": big["seconds"],
        "article_10mb_peak_mb": big["peak_mb"],
        "article_10mb_outcome": big["outcome"],
    }


def _print_row(row: dict[str, Any]) -> None:
    over = row["seconds"] > TARGET_S or row["peak_mb"] > TARGET_MB
    health = f"{row['healthz_ms']:7.0f}" if "healthz_ms" in row else "      -"
    print(f"{row['input']:28} {row['path']:4} {row['mb']:7.2f} {row['seconds']:7.2f} "
          f"{row['peak_mb']:7.0f} {row['base_mb']:6.0f} {health}  {row['outcome'][:48]}"
          f"{'  <-- over target' if over else ''}", flush=True)  # fmt: skip


def _print_summary(rows: list[dict[str, Any]], ratio: dict[str, float] | None) -> None:
    worst_s = max((r["seconds"] for r in rows), default=0.0)
    worst_mb = max((r["peak_mb"] for r in rows), default=0.0)
    print(
        "\ncolumns: input, path, MB, seconds, peak RSS MB, base RSS MB (after imports), "
        "slowest /healthz ms during the request (api), outcome"
    )
    print(f"worst: {worst_s:.2f} s, {worst_mb:.0f} MB peak RSS "
          f"(targets {TARGET_S} s, {TARGET_MB:.0f} MB)")  # fmt: skip
    if ratio:
        r = ratio
        print(
            f"10 MB article, limits lifted: {r['article_10mb_seconds']:.1f} s, "
            f"{r['article_10mb_s_per_mb']:.2f} s/MB against {r['ordinary_s_per_mb']:.2f} s/MB "
            f"for the seeds: {r['ratio']:.2f}x (target <= {TARGET_RATIO}x), "
            f"peak {r['article_10mb_peak_mb']:.0f} MB, {r['article_10mb_outcome']}"
        )


if __name__ == "__main__":
    sys.exit(main())
