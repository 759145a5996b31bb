"""One module per workload; :mod:`benchmarks.run` discovers them.

A workload module defines ``WORKLOAD`` (a :class:`benchmarks.harness.Workload`)
or ``WORKLOADS`` (a sequence of them). Importing the module must be cheap and
must not fail when a mailwire module it measures is not written yet: resolve
such imports inside the implementation and raise
:class:`benchmarks.harness.Unavailable` there.
"""
