/**
 * Stopping a long command cleanly on SIGINT (Ctrl-C) / SIGTERM: the first signal prints `notice(name)` and aborts
 * the returned signal with `reason(name)` (the command then saves its progress and ends); a second one exits at once
 * with EXIT_CODES.interrupted. `dispose` removes the handlers. Used by `mine` and `worker`.
 */
import { EXIT_CODES } from '../errors.js';

export function stopOnSignals(notice: (name: NodeJS.Signals) => string, reason?: (name: NodeJS.Signals) => unknown): { signal: AbortSignal; dispose: () => void } {
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    if (++signals > 1) process.exit(EXIT_CODES.interrupted);
    console.error(notice(name));
    stop.abort(reason?.(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
