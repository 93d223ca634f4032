"""Reliability suite (issue 6): differential machine, HTTP fuzzer, concurrency against live
servers, credentials matrix, and the bugs they found (test_found_bugs.py).

    pytest tests/reliability -s                          # CI profile, prints the figures
    HYPOTHESIS_PROFILE=deep pytest tests/reliability -s  # deep: ~100,000 differential steps
"""
