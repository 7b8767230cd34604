#!/usr/bin/python3
"""Reads a Prometheus text-format file with prometheus_client's parser, the one Python
scrapers use, and prints each family as `name type samples`, one a line (the parser names
a counter without its `_total`). Exits 1 with the parser's error if any line does not parse.

Usage: metric_families.py FILE
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        # The parser is lazy: a bad line fails only when its family is reached.
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # ValueError mostly, but malformed input raises others too
        print(f"prometheus_client cannot parse the text: {e!r}", file=sys.stderr)
        return 1
    for family in families:
        print(family.name, family.type, len(family.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
