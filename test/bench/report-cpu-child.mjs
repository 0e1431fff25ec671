// `node --import ./report-cpu-child.mjs …`: when the process exits, writes the
// CPU time it used (user + system, in ms) to $GILD_BENCH_CPU_FILE. On a busy
// machine a process waits for a core; its CPU time is what it would take alone.
import { writeFileSync } from 'node:fs';

const file = process.env.GILD_BENCH_CPU_FILE;
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  if (file) writeFileSync(file, String((user + system) / 1000));
});
