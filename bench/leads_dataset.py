"""Generate a realistic lead dataset (app/demo/dataset.py) at benchmark size, straight in SQL.

uv run python -m bench.leads_dataset --dsn postgresql://… --tenant-id 1 [--leads 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from app.demo.dataset import BATCH, GENERATE, generate_args


async def generate(dsn: str, tenant_id: int, leads: int, phone_base: int) -> float:
    """Insert `leads` leads for `tenant_id` in batches; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(1, leads + 1, BATCH):
            await conn.execute(GENERATE, *generate_args(tenant_id, phone_base, start, min(leads, start + BATCH - 1)))
        await conn.execute("ANALYZE lead")
    finally:
        await conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--tenant-id", type=int, required=True)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--phone-base", type=int, default=971_500_000_000)
    args = parser.parse_args()
    seconds = asyncio.run(generate(args.dsn, args.tenant_id, args.leads, args.phone_base))
    print(f"{args.leads:,} leads in {seconds:.1f}s")


if __name__ == "__main__":
    main()
