/**
 * The package as a newcomer meets it: npm in the repository runs without config warnings while
 * onnxruntime-node's install script (it only downloads the CUDA provider, which regionclip never
 * uses) stays skipped; the licence is there; the tarball holds what the CLI needs; and the built CLI
 * runs from any folder (README "Set up and test" and "Installing elsewhere").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/golden.js';

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; license: string; allowScripts?: Record<string, boolean> };
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const elsewhere = mkdtempSync(join(tmpdir(), 'regionclip-elsewhere-'));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

/** npm in the repository root, without the variables `npm test` sets for its own child processes. */
function npm(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return spawnSync('npm', args, { cwd: repoRoot, encoding: 'utf8', env });
}

/** Installed packages (scoped ones too) whose package.json has an install-time script. */
function packagesWithInstallScripts(): string[] {
  const root = join(repoRoot, 'node_modules');
  const names = readdirSync(root).flatMap((name) => (name.startsWith('@') ? readdirSync(join(root, name)).map((n) => `${name}/${n}`) : [name]));
  return names.filter((name) => {
    const path = join(root, name, 'package.json');
    if (!existsSync(path)) return false;
    const scripts = (JSON.parse(readFileSync(path, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    return ['preinstall', 'install', 'postinstall'].some((s) => scripts[s] !== undefined);
  }).sort();
}

describe('packaging', () => {
  it('npm in the repository warns about no unknown config key', () => {
    const r = npm('config', 'list');
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown (project|user|global|env|cli) config/);
    expect(existsSync(join(repoRoot, '.npmrc')) ? readFileSync(join(repoRoot, '.npmrc'), 'utf8') : '').not.toContain('onnxruntime-node-install');
  });

  it('onnxruntime-node\'s install script stays skipped: denied in allowScripts, ONNXRUNTIME_NODE_INSTALL=skip in CI and README', () => {
    // Every install script in the tree is reviewed (npm >= 11 lists unreviewed ones after each install).
    const withScripts = packagesWithInstallScripts();
    expect(withScripts).toContain('onnxruntime-node');
    expect(withScripts.filter((name) => packageJson.allowScripts?.[name] === undefined)).toEqual([]);
    expect(packageJson.allowScripts?.['onnxruntime-node']).toBe(false);
    // Older npm ignores allowScripts: the variable onnxruntime-node's script reads (script/install-utils.js).
    const installUtils = readFileSync(join(repoRoot, 'node_modules', 'onnxruntime-node', 'script', 'install-utils.js'), 'utf8');
    expect(installUtils).toContain('process.env.ONNXRUNTIME_NODE_INSTALL');
    const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(ci.indexOf('export ONNXRUNTIME_NODE_INSTALL=skip')).toBeLessThan(ci.indexOf('npm ci'));
    expect(readme).toContain('ONNXRUNTIME_NODE_INSTALL=skip npm ci');
    expect(readme).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip npm install \/path\/to\/regionclip-0\.1\.0\.tgz/);
  });

  it('has the MIT licence package.json names', () => {
    expect(packageJson.license).toBe('MIT');
    const licence = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(licence.split('\n')[0]).toBe('MIT License');
    expect(licence).toMatch(/^Copyright \(c\) \d{4} regionclip contributors$/m);
    expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('the tarball holds the licence, the CLI, the built-in model and the presets', () => {
    const r = npm('pack', '--dry-run', '--json', '--ignore-scripts');
    expect(r.status).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    for (const path of ['LICENSE', 'README.md', 'package.json', 'dist/cli/main.js', 'dist/index.js', 'dist/text/prompt-templates.json', 'models/world-rn-small/manifest.json', 'models/world-rn-small/rpn.onnx', 'pipelines/default.json']) {
      expect(files, path).toContain(path);
    }
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('the built CLI runs from another folder, with the built-in model and presets found beside it', () => {
    const bin = join(repoRoot, 'dist', 'cli', 'main.js');
    // npm run build makes the bin executable: npx runs it straight from a clone (tsc writes it 644)
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    const version = spawnSync(process.execPath, [bin, '--version'], { cwd: elsewhere, encoding: 'utf8' });
    expect([version.status, version.stdout.trim()]).toEqual([0, packageJson.version]);
    const image = join(repoRoot, 'fixtures', 'world', 'images', '000020.jpg');
    const r = spawnSync(process.execPath, [bin, 'detect', image, '--vocab', 'bicycle,sled', '--json', '-', '--no-cache'], { cwd: elsewhere, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { detections: { label: string; score: number }[] };
    expect(result.detections.length).toBeGreaterThan(0);
    // README's main example: the large bicycle (0.82); the model's trained background keeps the sled (0.08) under the threshold.
    expect(result.detections[0]).toMatchObject({ label: 'bicycle' });
    expect(result.detections[0].score).toBeGreaterThan(0.8);
  });
});
