"""Registry of benchmark suites, in the order their rows are printed.

Each entry names a module exposing ``run(ctx: BenchContext) -> list[BenchRow]``; importing
lazily keeps ``s4 bench --only synth`` from loading torch or POT it does not need.
"""

SUITES: dict[str, str] = {
    "synth": "s4_core.bench.synth_bench",
    "pipeline": "s4_core.bench.pipeline_bench",
    "sync": "s4_core.bench.sync_bench",
    "tracking": "s4_core.bench.tracking_bench",
    "splat": "s4_core.bench.splat_bench",
    "bag": "s4_core.bench.bag_bench",
    "st4rtrack": "s4_core.bench.st4rtrack_bench",
    "learned": "s4_core.bench.learned_bench",
    "nodes": "s4_core.bench.nodes_bench",
}
