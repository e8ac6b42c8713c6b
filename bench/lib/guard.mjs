// Parent-death and lifetime guard for every process the benchmark starts.
//
// Imported by bench/upstream.mjs and bench/baselines.mjs, and preloaded with `node --import` into flowd and
// Node-RED, so that no server outlives the harness: when the parent process goes away (the process is
// re-parented) or BENCH_MAX_LIFETIME_MS has passed (default 1 hour), the process sends itself SIGTERM (a graceful
// shutdown where the server has one) and exits hard 3 s later. The timer is unref'd and costs one syscall a second.

const parentPid = process.ppid;
const maxLifetimeMs = Number(process.env.BENCH_MAX_LIFETIME_MS) > 0 ? Number(process.env.BENCH_MAX_LIFETIME_MS) : 3_600_000;
const startedAt = Date.now();
let stopping = false;

function stop(reason) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[bench-guard] pid ${process.pid} stopping: ${reason}\n`);
  setTimeout(() => process.exit(0), 3000).unref();
  try {
    process.kill(process.pid, 'SIGTERM');
  } catch {
    process.exit(0);
  }
}

const timer = setInterval(() => {
  if (process.ppid !== parentPid) stop(`parent ${parentPid} is gone`);
  else if (Date.now() - startedAt > maxLifetimeMs) stop(`lifetime of ${maxLifetimeMs} ms reached`);
}, 1000);
timer.unref();
