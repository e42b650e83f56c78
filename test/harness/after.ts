// tap `after`: stops the shared environment if a test file started one (shared-env.ts).
import { stopSharedEnv } from './shared-env.ts';

const stopped = await stopSharedEnv();
if (stopped.length > 0) process.stderr.write(`[test env] stopped ${stopped.length} processes\n`);
