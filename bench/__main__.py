"""Run the benchmarks: ``python -m bench`` (``make bench``); ``--quick`` for a smoke run.

Every figure is a ratio to a baseline measured side by side in the same run (medians, with
min and max), never a single absolute time. Results go to stdout as Markdown and, with
``--json PATH``, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from callflow.dialect.reader import MAX_BYTES

from . import (
    asgi_bench,
    hostile_bench,
    http_bench,
    memory_bench,
    protocol_bench,
    render_bench,
    scale_bench,
    simulator_bench,
    validate_bench,
)
from .timing import table

PARTS = ("render", "validate", "hostile", "http", "protocol", "scale", "simulator", "memory")


def machine() -> dict[str, str]:
    """Where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument("--only", default=",".join(PARTS), help="comma list of " + ", ".join(PARTS))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    quick = args.quick
    rounds = 2 if quick else 9
    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    print(f"# callflow benchmarks\n\nmachine: {results['machine']}\n")

    if "render" in parts:
        rendered = render_bench.run(rounds=rounds, number=20 if quick else 4000)
        results["render"] = {doc: [asdict(f) for f in figures] for doc, figures in rendered.items()}
        for document, figures in rendered.items():
            print(table(f"(a) render: {document} document (baseline: f-string floor)", figures))
        built = render_bench.versus_minimal(rounds=rounds, number=20 if quick else 4000)
        results["render_per_element"] = {
            doc: [asdict(f) for f in figures] for doc, figures in built.items()
        }
        for document, figures in built.items():
            title = f"(a) {document} document built anew, per element (baseline: minimal DSL)"
            print(table(title, figures))
    if "validate" in parts:
        figures = validate_bench.run(rounds=rounds, number=10 if quick else 1000)
        results["validate"] = [asdict(f) for f in figures]
        print(table("(b) validation, per document (baseline: lxml parse + XSD)", figures))
    if "hostile" in parts:
        hostile = hostile_bench.run(rounds=2 if quick else 5, limit=16_384 if quick else MAX_BYTES)
        results["hostile"] = {
            name: [asdict(f) for f in figures] for name, figures in hostile.items()
        }
        for name, figures in hostile.items():
            print(table(f"(h) hostile document, {name} (baseline: size n)", figures))
    if "http" in parts:
        http = http_bench.run(
            rounds=1 if quick else 5,
            seconds=1 if quick else 10,
            connections=4 if quick else 32,
            requests=50 if quick else 20000,
            force_python=quick,
        )
        summary = http.summary()
        in_process = asgi_bench.run(rounds=rounds, number=20 if quick else 3000)
        results["http"] = {
            "tool": http.tool,
            "summary": summary,
            "contenders": http.table(),
            "loads": {name: [asdict(load) for load in loads] for name, loads in http.loads.items()},
            "in_process": {
                name: [asdict(f) for f in figures] for name, figures in in_process.items()
            },
        }
        print(http.markdown())
        print(f"callflow vs bare Starlette ({http.tool}):\n")
        for key, value in summary.items():
            print(f"- {key}: {value:.3f}")
        print()
        for name, figures in in_process.items():
            print(table(f"(c) in process, direct ASGI: {name}", figures))
    if "protocol" in parts:
        protocol = protocol_bench.run(
            rounds=1 if quick else 5,
            seconds=1 if quick else 8,
            connections=4 if quick else 32,
            requests=50 if quick else 20000,
            force_python=quick,
        )
        results["protocol"] = {"tool": protocol.tool, "summary": protocol.summary()}
        print(f"### (f) request-head bound: bounded vs plain httptools ({protocol.tool})\n")
        for key, value in protocol.summary().items():
            print(f"- {key}: {value:.3f}")
        print()
    if "scale" in parts:
        scale = scale_bench.run(
            rounds=1 if quick else 5,
            seconds=1 if quick else 8,
            connections=4 if quick else 32,
            requests=50 if quick else 20000,
            force_python=quick,
        )
        results["scale"] = {name: pair.summary() for name, pair in scale.items()}
        for pair in scale.values():
            print(f"### (g) scale-out: {pair.candidate} vs {pair.baseline}\n")
            for key, value in pair.summary().items():
                print(f"- {key}: {value:.3f}")
            print()
    if "simulator" in parts:
        figures = simulator_bench.run(rounds=rounds, number=5 if quick else 300)
        results["simulator"] = [asdict(f) for f in figures]
        print(table("(d) simulator: a whole call vs one in-process request", figures))
        call = figures[-1]
        print(f"simulated calls per second (median): {1e6 / call.median_us:.0f}\n")
    if "memory" in parts:
        checkpoints = (100, 1_000) if quick else (1_000, 100_000)
        memory = memory_bench.run(checkpoints=checkpoints)
        results["memory"] = {**asdict(memory), "growth_mib": memory.growth_mib}
        print("### (e) memory: resident set after in-process webhook requests\n")
        for count, size in zip(memory.requests, memory.rss_mib, strict=True):
            print(f"- after {count} requests: {size:.1f} MiB")
        print(f"- growth: {memory.growth_mib:.1f} MiB\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
