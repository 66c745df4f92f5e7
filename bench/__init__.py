"""Benchmarks of the gateway, each reported as a ratio to a "hello world" ceiling.

``python -m bench.run`` serves a bare Falcon app and the demo gateway under the same gunicorn
settings, loads both from the same load generator in the same run and writes
``bench/results/latest.json`` and ``latest.md``. See ``bench/README.md``.
"""
