/**
 * A real redis-server for the queue tests, of the tests' own: on a free 127.0.0.1 port, its data in
 * a temporary folder, the append-only file on (fsync on every write), so a test can restart it and
 * find the queue as it was. The binary is $REGIONCLIP_REDIS_SERVER, else `redis-server` on the
 * PATH; without one the queue tests skip, unless $REGIONCLIP_REQUIRE_REDIS=1 (CI sets it), which
 * makes them fail instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** The redis-server binary to use, or undefined when there is none. */
export function redisServerBinary(): string | undefined {
  const candidate = process.env.REGIONCLIP_REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && /Redis server v=/.test(probe.stdout) ? candidate : undefined;
}

/** Whether the queue tests must run (fail rather than skip without redis-server). */
export const redisRequired = process.env.REGIONCLIP_REQUIRE_REDIS === '1';

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export class TestRedis {
  private process: ChildProcess | undefined;

  private constructor(private readonly binary: string, private readonly dir: string, readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a redis-server with its files in `dir`; retries on another port if the chosen one was taken meanwhile. */
  static async start(binary: string, dir: string): Promise<TestRedis> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const redis = new TestRedis(binary, dir, await freePort());
      try {
        await redis.launch();
        return redis;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    return new Promise((resolveReady, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) {
          child.stdout.off('data', onData);
          resolveReady();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });
  }

  /** Stops the server (SIGTERM: it writes its append-only file) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolveExit) => {
      child.once('exit', () => resolveExit());
      child.kill('SIGTERM');
    });
  }

  /** Stops and starts the server on the same port and folder: what was queued survives in the append-only file. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }
}
