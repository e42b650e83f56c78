// Structured logs (pino), one JSON line per event.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { name: 'vcnet' }, timestamp: pino.stdTimeFunctions.isoTime });
}
