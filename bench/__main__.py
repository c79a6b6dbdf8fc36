"""`python -m bench`: every benchmark, one table each."""

import importlib

for name in ("bench.cycle_bench", "bench.store_bench"):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as missing:
        print(f"{name}: not available ({missing})")
        continue
    module.main()
    print()
