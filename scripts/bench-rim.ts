/**
 * Alias of `npm run bench` (scripts/bench.ts) for the RIM-bench training step only:
 *
 *   npx tsx scripts/bench-rim.ts [--torch] [--iters 5] [--batch 8] [--size 32] [--features 32] [--steps 8]
 *
 * = `npm run bench -- --no-convs --no-write ...`. The engine is the one `initEngine()` chooses
 * (the native oneDNN convolutions when built; `LGD_NATIVE=0` turns them off), so the old
 * `--native` flag is accepted and ignored.
 */
process.argv = [...process.argv.slice(0, 2), ...process.argv.slice(2).filter((a) => a !== '--native'), '--no-convs', '--no-write'];
require('./bench');
