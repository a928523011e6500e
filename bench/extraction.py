"""Score main-text extraction on the Zyte article-extraction benchmark, with speed.

Usage: .venv/bin/python bench/extraction.py [--datasets PATH] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: make `bench` and `worker` importable

import trafilatura  # noqa: E402
from trafilatura.settings import Document  # noqa: E402

from bench.machine import machine_info  # noqa: E402
from bench.zyte_metric import (  # noqa: E402
    Scores,
    load_baseline_output,
    load_ground_truth,
    load_html,
    score,
)
from worker.errors import NotAnArticle  # noqa: E402
from worker.pipeline.extract import extract_html, make_config, reset_caches  # noqa: E402

DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"
ZYTE = "zyte-article-extraction"
# README.rst of the benchmark, "Results of the latest evaluation": F1 of the stored outputs
PUBLISHED_F1 = {"trafilatura": 0.958, "readability": 0.922}
# the caller resets trafilatura's caches every N pages (#216); done here outside the timed calls
RESET_EVERY = 50

Extractor = Callable[[str], str | None]


def _ours(config: Any) -> Extractor:
    def run(html: str) -> str | None:
        try:
            return extract_html(html, config=config).text
        except NotAnArticle:
            return None  # scored as empty output

    return run


def _baseline(html: str) -> str | None:
    return trafilatura.extract(html, include_comments=False)


def _baseline_with_metadata(html: str) -> str | None:
    # timing reference: what an Article's title/author/date cost on top of the baseline
    doc = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True)
    return doc.text if isinstance(doc, Document) else None


def _check_metric(zyte: Path, gold: dict[str, str]) -> dict[str, dict[str, float]]:
    checks = {}
    for name, published in PUBLISHED_F1.items():
        output = load_baseline_output(zyte / "baseline_outputs" / f"{name}.json")
        if output.keys() != gold.keys():
            raise SystemExit(f"baseline_outputs/{name}.json: page ids do not match ground truth")
        s = score((gold[pid], output[pid]) for pid in gold)
        checks[name] = {"f1": s.f1, "published_f1": published, "ok": round(s.f1, 3) == published}
    return checks


def _run(
    extractors: dict[str, Extractor], gold: dict[str, str], zyte: Path
) -> dict[str, dict[str, Any]]:
    """Run every extractor on each page in turn, so machine load hits them alike."""
    outputs: dict[str, dict[str, str | None]] = {name: {} for name in extractors}
    times: dict[str, list[float]] = {name: [] for name in extractors}
    warm_up = load_html(zyte, next(iter(gold)))
    for extractor in extractors.values():
        extractor(warm_up)  # lazy imports and stoplists load on first use: keep them out of timings
    for i, page_id in enumerate(gold):
        html = load_html(zyte, page_id)
        for name, extractor in extractors.items():
            start = time.perf_counter()
            outputs[name][page_id] = extractor(html)
            times[name].append(time.perf_counter() - start)
        if (i + 1) % RESET_EVERY == 0:
            reset_caches()
    results = {}
    for name in extractors:
        s: Scores = score((gold[pid], outputs[name][pid]) for pid in gold)
        ms = sorted(t * 1000 for t in times[name])
        results[name] = {
            **s.to_dict(),
            "median_ms": statistics.median(ms),
            "p90_ms": ms[min(len(ms) - 1, int(0.9 * len(ms)))],
            "pages_per_s": len(ms) / (sum(ms) / 1000),
            "empty_pages": sum(not outputs[name][pid] for pid in gold),
        }
    return results


def _print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"machine: {m['platform']} | {m['cpu']} x{m['cpus']} | load {m['load_avg_1m']}")
    print(f"python {m['python']} | trafilatura {m['trafilatura']} | {m['date']}")
    print(f"pages: {report['pages']} of {ZYTE}")
    print("metric self-check on baseline_outputs/ (published F1):")
    for name, c in report["metric_check"].items():
        status = "ok" if c["ok"] else "MISMATCH"
        print(f"  {name:<12} F1 {c['f1']:.3f} vs {c['published_f1']:.3f}  {status}")
    base_ms = report["results"]["baseline"]["median_ms"]
    header = f"{'extractor':<22}{'F1':>7}{'P':>7}{'R':>7}{'acc':>7}"
    print(f"\n{header}{'med ms':>9}{'p90 ms':>9}{'pages/s':>9}{'x base':>8}{'empty':>7}")
    for name, r in report["results"].items():
        print(
            f"{name:<22}{r['f1']:>7.3f}{r['precision']:>7.3f}{r['recall']:>7.3f}{r['accuracy']:>7.3f}"
            f"{r['median_ms']:>9.1f}{r['p90_ms']:>9.1f}{r['pages_per_s']:>9.1f}"
            f"{r['median_ms'] / base_ms:>8.2f}{r['empty_pages']:>7}"
        )
    print(
        "\nbaseline = trafilatura.extract(html, include_comments=False); "
        "ours = worker.pipeline.extract.extract_html"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help=f"labelled data folder (default: {DEFAULT_DATASETS})",
    )
    parser.add_argument("--limit", type=int, default=None, help="score the first N pages only")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)

    zyte = args.datasets / ZYTE
    if not (zyte / "ground-truth.json").is_file():
        raise SystemExit(
            f"{zyte}/ground-truth.json not found: pass --datasets PATH "
            "(the shared datasets folder, read-only; never copy it into the project)"
        )
    logging.disable(logging.ERROR)  # trafilatura logs every discarded page; keep the table clean

    gold = load_ground_truth(zyte)
    metric_check = _check_metric(zyte, gold)  # on all pages: the published figures are
    if args.limit is not None:
        gold = dict(list(gold.items())[: args.limit])
    extractors = {
        "baseline": _baseline,
        "baseline+metadata": _baseline_with_metadata,
        "ours": _ours(make_config()),
    }
    report = {
        "machine": machine_info(),
        "pages": len(gold),
        "metric_check": metric_check,
        "results": _run(extractors, gold, zyte),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(report)
    return 0 if all(c["ok"] for c in metric_check.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
