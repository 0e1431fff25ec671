// Preloaded into a measured CLI process (NODE_OPTIONS=--import): writes its peak resident set size, in bytes, to
// GILD_BENCH_PEAK_RSS_FILE when it exits, worker threads included, as the kernel counted it (getrusage).
import { writeFileSync } from 'node:fs';

const file = process.env.GILD_BENCH_PEAK_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
