import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/cli/progress.js';

/** A bar writing plain lines into a buffer. */
function bar(total: number) {
  let text = '';
  const stream = { write: (chunk: string | Uint8Array) => { text += chunk.toString(); return true; } };
  const progress = new Progress({ label: 'mine', total, mode: 'lines', stream });
  return { progress, lines: () => text.trim().split('\n') };
}

describe('Progress', () => {
  it('times only the work it saw: a bar that first hears of 16 done items (a resumed run) shows no rate until more are done', async () => {
    const { progress, lines } = bar(24);
    progress.update(16);
    expect(lines()).toEqual(['mine ████████████████░░░░░░░░ 16/24 --/s ETA --']);
    // Twice the time the bound needs: a timer may fire a fraction of a millisecond early (a 50 ms wait once read 20.1/s).
    await new Promise((r) => setTimeout(r, 100));
    progress.update(24);
    progress.finish();
    const last = lines().at(-1)!;
    const rate = Number(/ 24\/24 ([\d.]+)\/s /.exec(last)?.[1]);
    // 8 items in >= 50 ms: at most 160/s, not 16 / (a few microseconds).
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(160);
  });

  it('a bar that starts from 0 times from its creation', async () => {
    const { progress, lines } = bar(2);
    // Twice the time the bound needs: a timer may fire a fraction of a millisecond early (a 50 ms wait once read 20.1/s).
    await new Promise((r) => setTimeout(r, 100));
    progress.tick();
    const rate = Number(/ 1\/2 ([\d.]+)\/s /.exec(lines()[0])?.[1]);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(20);
  });
});
