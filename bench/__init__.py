"""Performance measurements: `make bench` (wrk, bench/run.py) and `make lighthouse`
(bench/lighthouse.py). Results go to docs/performance.md; raw output to bench/results/."""
