"""B7: the text rules that place and classify a WhatsApp message (targets: loading the packaged
rules <= 0.2 s, once per process; locate + classify of a 300-character message <= 1 ms, on every
inbound message).

Baseline in the same run: the same message lower-cased and split into words with one regular
expression, the least any reading of the text must do, so the ratio shows what the rules cost
over it.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from common import write_result

from aduan_intake.textrules import TextRules

LOAD_TARGET_SECONDS = 0.2
MATCH_TARGET_MS = 1.0
MESSAGE = (
    "Mohon maaf mengganggu. Saya ingin menyampaikan keluhan terkait pengurusan sertifikat "
    "tanah orang tua saya yang berlokasi di Kabupaten Sleman, sudah bayar sesuai SPS tapi "
    "sampai hari ini belum terbit; tiap ke kantor dijawab masih proses di seksi lain, "
    "padahal tetangga di Bantul sudah jadi. Mohon dibantu, terima kasih."
)
WORDS = re.compile(r"\w+")


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def per_call_ms(runs: int, work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        work()
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    packaged = resources.files("aduan_intake").joinpath("data", "text-rules.yaml").read_bytes()
    load = best_of(args.repeat, lambda: TextRules.parse(packaged, "packaged"))
    rules = TextRules.load_packaged()

    def match() -> None:
        rules.locate(MESSAGE)
        rules.classify(MESSAGE)

    match()
    baseline_ms = per_call_ms(args.runs, lambda: WORDS.findall(MESSAGE.lower()))
    match_ms = per_call_ms(args.runs, match)
    write_result(
        "b7_text_rules",
        {
            "message_characters": len(MESSAGE),
            "load_seconds": round(load, 4),
            "locate_and_classify_ms": round(match_ms, 4),
            "baseline_lower_and_split_ms": round(baseline_ms, 4),
            "ratio_match_to_baseline": round(match_ms / baseline_ms, 1),
            "targets": {"load_seconds": LOAD_TARGET_SECONDS, "match_ms": MATCH_TARGET_MS},
            "met": load <= LOAD_TARGET_SECONDS and match_ms <= MATCH_TARGET_MS,
        },
    )


if __name__ == "__main__":
    main()
