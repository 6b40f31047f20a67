"""Registry of benchmark suites, in the order their rows are printed.

Each entry names a module exposing ``run(ctx: BenchContext) -> list[BenchRow]``; importing
lazily keeps ``s4 bench --only synth`` from loading torch or POT it does not need.
"""

SUITES: dict[str, str] = {
    "synth": "s4_core.bench.synth_bench",
}
