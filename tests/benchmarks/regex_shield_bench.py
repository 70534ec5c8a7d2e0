"""Micro-benchmark of the regex shield's rule engine (in-process, no server).

    python tests/benchmarks/regex_shield_bench.py [--seconds 1.0]

Scans texts of several sizes with the built-in rule sets (pii + harm) and prints the cost of one
scan; the HTTP round trip of /v1/safety/run-shield comes on top (see tests/benchmarks/bench.py).
"""

from __future__ import annotations

import argparse
import time

from stack_provider_regex_shield.config import builtin_rule_sets
from stack_provider_regex_shield.rules import RuleEngine

SENTENCE = "The quarterly report covers revenue, churn and the roadmap for the next release. "
CASES = {
    "short safe (80 B)": SENTENCE,
    "safe 1 KiB": SENTENCE * 13,
    "safe 16 KiB": SENTENCE * 205,
    "1 KiB + email + card": SENTENCE * 12 + "mail a.b@example.com, card 4111 1111 1111 1111",
    "numbers-heavy 1 KiB": "order 12345 shipped 2024-01-15 qty 3 price 19.99; " * 20,
}


def measure(engine: RuleEngine, text: str, seconds: float) -> tuple[float, int]:
    rules = engine.rules()
    runs, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            engine.scan([text], rules)
        runs += 100
    return elapsed / runs * 1e6, len(engine.scan([text], rules))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent per case")
    args = parser.parse_args()
    start = time.perf_counter()
    engine = RuleEngine(builtin_rule_sets())
    print(f"compiled {len(engine.rules())} rules in {(time.perf_counter() - start) * 1e3:.2f} ms")
    print(f"{'case':<24}{'bytes':>8}{'us/scan':>10}{'MB/s':>8}{'hits':>6}")
    for name, text in CASES.items():
        micros, hits = measure(engine, text, args.seconds)
        print(f"{name:<24}{len(text):>8}{micros:>10.1f}{len(text) / micros:>8.1f}{hits:>6}")


if __name__ == "__main__":
    main()
