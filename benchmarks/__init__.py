"""mailwire's benchmark harness: side-by-side comparisons with the stdlib.

Not part of the installed package and not a test suite: nothing here asserts a
speed. Run from the repository root::

    python -m benchmarks.run                 # every workload
    python -m benchmarks.run line_split --rounds 9 --json

Modules:

- :mod:`benchmarks.harness`: the runner (interleaved rounds, medians, ratios,
  correctness checks, optional tracemalloc pass).
- :mod:`benchmarks.report`: text and Markdown tables, JSON files.
- :mod:`benchmarks.replay_server`: a loopback server that answers client lines
  with canned bytes (SMTP, POP3 and IMAP shaped).
- :mod:`benchmarks.latency_proxy`: a loopback TCP proxy that delays each
  direction by a configured time.
- :mod:`benchmarks.run`: the command line; it discovers the workloads in
  :mod:`benchmarks.workloads`.

See ``benchmarks/README.md`` for how to add a workload.
"""
