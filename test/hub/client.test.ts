/**
 * The Hub client's pure parts: environment variables, repository names and URLs, file selection
 * (fnmatch, transformers.js dtypes), etags and the git blob hash.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../../src/errors.js';
import { hashFile, etagKind } from '../../src/hub/download.js';
import { hubSettings } from '../../src/hub/env.js';
import { normalizeEtag } from '../../src/hub/metadata.js';
import { parseHubModel, parseRepo, repoFolderName, resolveUrl, revisionApiUrl } from '../../src/hub/repo.js';
import { fnmatchToRegExp, selectFiles } from '../../src/hub/select.js';
import { fixtureRepo, gitSha1 } from './fake-hub.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-hub-client-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hub settings from the environment', () => {
  it('reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, $HF_HOME/token and HF_HUB_OFFLINE', () => {
    const defaults = hubSettings({}, { HOME: '/home/u', XDG_CACHE_HOME: '/x' });
    expect(defaults).toMatchObject({ endpoint: 'https://huggingface.co', cacheDir: '/x/huggingface/hub', offline: false, token: undefined });
    expect(hubSettings({}, { HF_ENDPOINT: 'http://127.0.0.1:9/', HF_HOME: '/h' })).toMatchObject({ endpoint: 'http://127.0.0.1:9', cacheDir: '/h/hub' });
    expect(hubSettings({}, { HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    writeFileSync(join(scratch, 'token'), 'hf_from_file\n');
    expect(hubSettings({}, { HF_HOME: scratch }).token).toBe('hf_from_file');
    expect(hubSettings({}, { HF_HOME: scratch, HF_TOKEN: 'hf_env' }).token).toBe('hf_env');
    expect(['1', 'true', 'YES', 'on', '0', ''].map((v) => hubSettings({}, { HF_HUB_OFFLINE: v }).offline)).toEqual([true, true, true, true, false, false]);
    expect(hubSettings({ cacheDir: '/flag', token: undefined }, { HF_HUB_CACHE: '/env', HF_TOKEN: 't' })).toMatchObject({ cacheDir: '/flag', token: 't' });
  });
});

describe('repository names and URLs', () => {
  it('builds huggingface_hub URLs and cache folder names', () => {
    const repo = parseRepo('Xenova/clip-vit-base-patch32');
    expect(repoFolderName(repo)).toBe('models--Xenova--clip-vit-base-patch32');
    expect(resolveUrl('https://h', repo, 'refs/pr/1', 'onnx/text model.onnx')).toBe('https://h/Xenova/clip-vit-base-patch32/resolve/refs%2Fpr%2F1/onnx/text%20model.onnx');
    const space = parseRepo('spaces/CVPR/regionclip-demo');
    expect(repoFolderName(space)).toBe('spaces--CVPR--regionclip-demo');
    expect(resolveUrl('https://h', space, 'main', 'regionclip_r50x4.pth')).toBe('https://h/spaces/CVPR/regionclip-demo/resolve/main/regionclip_r50x4.pth');
    expect(revisionApiUrl('https://h', parseRepo('datasets/org/data', 'v1'))).toBe('https://h/api/datasets/org/data/revision/v1');
    expect(parseHubModel('hf:org/name')).toEqual({ type: 'model', id: 'org/name', revision: 'main' });
    expect(parseHubModel('hf:org/name@0123456789abcdef0123456789abcdef01234567').revision).toBe('0123456789abcdef0123456789abcdef01234567');
  });

  it('rejects names that are not repositories', () => {
    for (const bad of ['', 'a/b/c', '../x', 'org/na--me', 'org/']) expect(() => parseRepo(bad)).toThrow(UsageError);
    expect(() => parseRepo('org/x')).not.toThrow();
    expect(() => parseHubModel('hf:org/x@')).toThrow('Expected a branch, tag or commit for the revision of org/x but received an empty string.');
  });
});

describe('file selection', () => {
  const files = [...fixtureRepo().keys()];

  it('fnmatch: * crosses folders, ? is one character, [!..] negates, a trailing / means below', () => {
    const match = (pattern: string) => files.filter((f) => fnmatchToRegExp(pattern).test(f));
    expect(match('*.json')).toEqual(['config.json', 'preprocessor_config.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json']);
    expect(match('*fp16*')).toEqual(['onnx/text_model_fp16.onnx', 'onnx/vision_model_fp16.onnx']);
    expect(match('onnx/')).toHaveLength(5);
    expect(match('onnx/?ext_model.onnx')).toEqual(['onnx/text_model.onnx']);
    expect(match('[!o]*.md')).toEqual(['README.md']);
    expect(fnmatchToRegExp('a.b+c').test('a.b+c')).toBe(true);
    expect(fnmatchToRegExp('a.b').test('axb')).toBe(false);
  });

  it('a CLIP repository: configs, tokenizer and the two towers of one dtype', () => {
    const base = ['config.json', 'preprocessor_config.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];
    expect(selectFiles(files, {}, 'r')).toEqual([...base, 'onnx/text_model.onnx', 'onnx/vision_model.onnx']);
    expect(selectFiles(files, { dtype: 'fp16' }, 'r')).toEqual([...base, 'onnx/text_model_fp16.onnx', 'onnx/vision_model_fp16.onnx']);
    expect(() => selectFiles(files, { dtype: 'q4' }, 'org/x@main')).toThrow(new InvalidInputError(
      'Expected onnx/text_model_q4.onnx and onnx/vision_model_q4.onnx (dtype q4) for org/x@main but received none; dtypes with both towers: fp32, fp16.'));
    expect(selectFiles(files, { include: ['README.md', '*.txt'] }, 'r')).toEqual(['README.md', 'merges.txt']);
    expect(() => selectFiles(files, { include: ['*.pth'] }, 'r')).toThrow('Expected files matching *.pth for r but received none among 13 file(s).');
    expect(selectFiles(['manifest.json', 'a.onnx'], {}, 'r')).toEqual(['manifest.json', 'a.onnx']);
    expect(() => selectFiles(['model.pth'], {}, 'r')).toThrow(/otherwise name the files with --include for r but received 1 file\(s\): model.pth/);
  });
});

describe('etags and hashes', () => {
  it('normalizes etags and hashes files the way the Hub names them', async () => {
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag('"abc"')).toBe('abc');
    expect(normalizeEtag(null)).toBeUndefined();
    // `printf 'hello\n' | git hash-object --stdin`
    const file = join(scratch, 'hello.txt');
    writeFileSync(file, 'hello\n');
    expect(await hashFile(file, 'git-sha1')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(gitSha1(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(await hashFile(file, 'sha256')).toBe('5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    expect([etagKind('a'.repeat(64)), etagKind('a'.repeat(40)), etagKind('xyz')]).toEqual(['sha256', 'git-sha1', undefined]);
  });
});
