"""Shipment documents: how long a cold render of the commercial invoice and the packing list takes, and how fast the
stored copy comes back (issue: "shipment PDFs rendered per request 1.5-6 s, no cache").

Run `.venv/bin/python bench/shipping_pdf.py` (or `make bench`). In a temporary media folder (local storage) it
builds each document's frozen data with `--lots` lots of `--rows` carton rows, warms the PDF worker pool up with
one render, then times `documents.cached_pdf` `--runs` times on content never rendered before (cold: render and
store; the median) and `--fetches` times on the stored one (cached: the median).

Targets: cached fetch < 50 ms, and at least 20 times faster than the cold render. Missing one is reported (exit
status 1), so `make bench` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.spec_pdf import environment  # noqa: E402
from tests.shipping_support import FULL_LOT  # noqa: E402  (the carton row the tests submit)

TARGET_CACHED_MS = 50.0
TARGET_SPEEDUP = 20.0


def frozen_data(kind: str, *, lots: int, rows: int, salt: str) -> dict[str, Any]:
    """What `documents.build_data` freezes, for `lots` lots of `rows` carton rows each (salt: a new content)."""
    lines = []
    for number in range(1, lots + 1):
        carton_rows = [{**FULL_LOT[0], "first": 1 + i * 50, "last": (i + 1) * 50} for i in range(rows)]
        lines.append(
            {
                "lot": number,
                "revision": "B",
                "quantity": 200 * rows,
                "unit_value": "12.50",
                "amount": f"{2500 * rows:.2f}",
                "cartons": 50 * rows,
                "net_kg": f"{410 * rows}",
                "gross_kg": f"{455 * rows}",
                "volume_m3": f"{4.2 * rows:.4f}",
                "marks": "ARC PENDANT / PO-12-1 / C/NO. 1-250",
                "rows": carton_rows,
            }
        )
    return {
        "kind": kind,
        "number": f"{'CI' if kind == 'commercial_invoice' else 'PL'}-SH-12-1-{salt}",
        "date": "2027-02-01",
        "shipment": f"SH-12-1-{salt}",
        "order": "PO-12-1",
        "project": "Arc pendant lamp",
        "product_en": "Arc pendant lamp",
        "product_zh": "弧形吊灯",
        "model": "ARC-01",
        "seller_en": "Dongguan Bright Lighting",
        "seller_zh": "东莞明亮照明",
        "seller_city": "Dongguan",
        "buyer": "Nordlicht GmbH",
        "delivery_address": "Hamburg",
        "incoterm": "FOB",
        "payment_terms": "30% deposit, 70% before shipment",
        "currency": "USD",
        "forwarder": "Kuehne+Nagel",
        "booking_number": "KN123456",
        "transport": "sea",
        "container_or_awb": "MSCU1234567",
        "port_of_loading": "Yantian",
        "port_of_destination": "Hamburg",
        "etd": "2027-02-10",
        "eta": "2027-03-20",
        "lines": lines,
        "total_units": 200 * rows * lots,
        "total_cartons": 50 * rows * lots,
        "total_amount": f"{2500 * rows * lots:.2f}",
        "total_net_kg": f"{410 * rows * lots}",
        "total_gross_kg": f"{455 * rows * lots}",
        "total_volume_m3": f"{4.2 * rows * lots:.4f}",
    }


async def measure(args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    from makeready.shipping import documents
    from makeready.shipping.models import ShipmentDocument

    def document(kind: str, salt: str) -> ShipmentDocument:
        data = frozen_data(kind, lots=args.lots, rows=args.rows, salt=salt)
        return ShipmentDocument(org_id=1, shipment_id=1, kind=kind, number=data["number"], data=data)

    languages = ("en", "zh_Hans")
    await documents.render_pdf(document("packing_list", "warm"), languages=languages)  # the pool starts
    out: dict[str, tuple[float, float]] = {}
    for kind in documents.KINDS:
        cold = []
        for run in range(args.runs):
            started = time.perf_counter()
            await documents.cached_pdf(document(kind, f"cold{run}"), languages=languages)
            cold.append(time.perf_counter() - started)
        stored = document(kind, "cold0")
        cached = []
        for _ in range(args.fetches):
            started = time.perf_counter()
            await documents.cached_pdf(stored, languages=languages)
            cached.append(time.perf_counter() - started)
        out[kind] = (statistics.median(cold), statistics.median(cached))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fetches", type=int, default=20)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="makeready-bench-shipping-"))
    os.environ.update(environment(workdir))  # the spec PDF bench's: a temporary database and media folder
    from makeready.specs import pdf

    try:
        figures = asyncio.run(measure(args))
    finally:
        pdf.shutdown_pool()
    ok = True
    print(f"shipment documents: {args.lots} lots of {args.rows} carton rows, both languages")
    print("| document | cold render + store (median) | cached fetch (median) | speed-up |")
    print("| --- | --- | --- | --- |")
    for kind, (cold, cached) in figures.items():
        speedup = cold / cached if cached else float("inf")
        ok = ok and cached * 1000 < TARGET_CACHED_MS and speedup >= TARGET_SPEEDUP
        print(f"| {kind} | {cold * 1000:.0f} ms | {cached * 1000:.1f} ms | {speedup:.0f}x |")
    print(
        f"targets: cached < {TARGET_CACHED_MS:.0f} ms, at least {TARGET_SPEEDUP:.0f}x: {'pass' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
