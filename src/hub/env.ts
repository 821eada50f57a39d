/**
 * Where the Hub client talks to and caches into, from the same environment variables as Python's
 * `huggingface_hub` (`constants.py`, see ../shared/background/real-weights.md §4):
 *
 *   HF_ENDPOINT      the Hub's base URL (default https://huggingface.co)
 *   HF_HOME          default $XDG_CACHE_HOME/huggingface, or ~/.cache/huggingface
 *   HF_HUB_CACHE     the cache root (default $HF_HOME/hub); `models--org--name/` folders live here
 *   HF_TOKEN         the access token (else the file $HF_HOME/token; HF_ACCESS_TOKEN as transformers.js)
 *   HF_HUB_OFFLINE   1/true/yes/on: no request at all, only the cache (TRANSFORMERS_OFFLINE too)
 *
 * Explicit overrides (a `--cache-dir` flag, a library option) win over the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Base URL without a trailing slash. */
  endpoint: string;
  /** Cache root holding `models--org--name/` folders. */
  cacheDir: string;
  /** Sent as `Authorization: Bearer <token>` to the endpoint's origin only. */
  token?: string;
  /** No network: resolve from the cache only. */
  offline: boolean;
  /** Retries of a request on 408/429/5xx or a network failure (default 3). */
  retries: number;
  /** First retry delay in ms, doubled each time (default 500; Retry-After is honoured up to 10 s). */
  retryDelayMs: number;
}

const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on']);
const isTrue = (value: string | undefined) => value !== undefined && TRUE_VALUES.has(value.trim().toLowerCase());

function hfHome(env: NodeJS.ProcessEnv): string {
  if (env.HF_HOME) return env.HF_HOME;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
}

function tokenFrom(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.HF_TOKEN || env.HF_ACCESS_TOKEN;
  if (fromEnv) return fromEnv.trim();
  const file = join(hfHome(env), 'token');
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  return text === '' ? undefined : text;
}

/** Settings from the environment, then `overrides` (undefined values are ignored). */
export function hubSettings(overrides: Partial<HubSettings> = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const base: HubSettings = {
    endpoint: (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: env.HF_HUB_CACHE || join(hfHome(env), 'hub'),
    token: tokenFrom(env),
    offline: isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE),
    retries: 3,
    retryDelayMs: 500,
  };
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...base, ...given };
}
