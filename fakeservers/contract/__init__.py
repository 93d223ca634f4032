"""Contract check: does the fake still answer like the real vendor?

`python -m fakeservers.contract smile --base-url https://api.smile.io --key KEY` (or
`shopsocially --partner-id ID --key KEY`) sends the same documented requests to the fake
(in-process, demo tenant) and to the base URL, and reports, per request, the differences
in status, shape (keys, value kinds, nesting) and error message. Read-only by default;
`--writes` adds requests that change the account (each built to leave it as it was).
Exit status: 0 no difference, 1 differences, 2 the vendor could not be reached or the
command line is wrong. See docs/testing-guide.md, section 6.
"""

from fakeservers.contract.runner import Answer, Check, HttpSide, WsgiSide, compare, run
from fakeservers.contract.shapes import shape_differences
from fakeservers.contract.steps import STEPS, Step

__all__ = [
    "STEPS",
    "Answer",
    "Check",
    "HttpSide",
    "Step",
    "WsgiSide",
    "compare",
    "run",
    "shape_differences",
]
