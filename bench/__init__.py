"""finsync's benchmarks: `make bench` (= `python -m bench`) runs them and prints medians and ratios."""
