"""`python -m fakeservers.contract VENDOR --base-url URL ...`: compare the fake with a vendor.

Credentials come from the options or, to keep them out of the shell history, from the
environment: `SMILE_API_KEY`; `SHOPSOCIALLY_PARTNER_ID` and `SHOPSOCIALLY_API_KEY`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from fakeservers.contract.runner import INVALID_KEY, Check, HttpSide, Unreachable, WsgiSide, run

__all__ = ["main"]

DEFAULT_URLS = {"smile": "https://api.smile.io", "shopsocially": "https://api.shopsocially.com"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fakeservers.contract",
        description="Send the same documented requests to the fake and to a vendor (or any "
        "base URL) and report the differences in status, shape and error messages.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("vendor", choices=sorted(DEFAULT_URLS))
    parser.add_argument("--base-url", help="where the vendor API is (default: its real host)")
    parser.add_argument("--key", help="Smile: the API key; ShopSocially: the api-key")
    parser.add_argument("--partner-id", help="ShopSocially: the partner-id")
    parser.add_argument(
        "--writes",
        action="store_true",
        help="also send requests that CHANGE THE ACCOUNT (points transactions of +1 and -1 "
        "on its first customer, requests the vendor must refuse); each leaves it as it was",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


def _headers(vendor: str, key: str, partner_id: str) -> dict[str, str]:
    if vendor == "smile":
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    return {"partner-id": partner_id, "api-key": key, "Accept": "application/json"}


def report(vendor: str, base_url: str, checks: Sequence[Check]) -> str:
    """The human-readable report."""
    lines = [f"contract check: {vendor} at {base_url} against the fake's demo tenant"]
    for check in checks:
        label = {"ok": "ok  ", "different": "DIFF", "skipped": "skip"}[check.outcome]
        status = "" if check.vendor_status is None else f" -> {check.vendor_status}"
        lines.append(f"{label} {check.method} {check.path} [{check.step}]{status}")
        lines.extend(f"       {line}" for line in check.lines)
    counts = {o: sum(c.outcome == o for c in checks) for o in ("ok", "different", "skipped")}
    lines.append(
        f"{len(checks)} requests: {counts['ok']} ok, {counts['different']} with differences, "
        f"{counts['skipped']} skipped"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    vendor = args.vendor
    key = args.key or os.environ.get(f"{vendor.upper()}_API_KEY")
    partner_id = args.partner_id or os.environ.get("SHOPSOCIALLY_PARTNER_ID", "")
    if not key or (vendor == "shopsocially" and not partner_id):
        needed = "--key" if vendor == "smile" else "--partner-id and --key"
        print(f"error: {vendor} needs {needed} (or the environment, see --help)", file=sys.stderr)
        return 2
    base_url = args.base_url or DEFAULT_URLS[vendor]
    if not base_url.startswith(("http://", "https://")):
        print(f"error: --base-url must start with http:// or https://: {base_url}", file=sys.stderr)
        return 2

    from fakeservers.toolkit import Fake
    from loyaltykit import ManualClock

    fake = Fake(vendor, ManualClock())
    try:
        checks = run(
            vendor,
            (WsgiSide(fake), fake.headers()),
            (HttpSide(base_url), _headers(vendor, key, partner_id)),
            _headers(vendor, INVALID_KEY, partner_id or "loyaltykit-contract-check"),
            writes=args.writes,
        )
    except Unreachable as exc:
        print(f"error: cannot reach {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"vendor": vendor, "base_url": base_url,
                          "checks": [c.to_json() for c in checks]}, indent=1))  # fmt: skip
    else:
        print(report(vendor, base_url, checks))
    return 1 if any(c.outcome == "different" for c in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
