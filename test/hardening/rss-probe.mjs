// Preloaded into a spawned cnn-check (node --import) by run.ts: on exit, writes the process's
// peak resident set size (KiB) to the file CNN_CHECK_RSS_OUT names, so a test can bound it.
// NOTE: VmHWM from /proc where there is one: getrusage's ru_maxrss survives exec on Linux, so
// it would report the spawning test runner's peak instead of cnn-check's.
import { readFileSync, writeFileSync } from 'node:fs';

function peakKiB() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // no /proc
  }
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  if (process.env.CNN_CHECK_RSS_OUT) writeFileSync(process.env.CNN_CHECK_RSS_OUT, String(peakKiB()));
});
