import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CheckedSession, ort, type GraphSpec } from '../../src/runtime/session.js';
import { repoRoot } from '../helpers/golden.js';

const graph = join(repoRoot, 'fixtures', 'models', 'tiny-clip', 'text_model.onnx');
const names = { run: 'tiny/text', check: 'graphs.text (text_model.onnx)' };
const good: GraphSpec = {
  file: 'text_model.onnx',
  inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch', 77] }],
  outputs: [{ name: 'text_embeds', dtype: 'float32', dims: ['batch', 16] }],
};

describe('CheckedSession.open (the one way a graph is opened)', () => {
  it('opens a graph that matches its spec', async () => {
    const opened = await CheckedSession.open(graph, good, names);
    expect(opened.problems).toEqual([]);
    expect(opened.session?.graphName).toBe('tiny/text');
    expect(opened.session?.hasInput('input_ids')).toBe(true);
    await opened.session?.release();
  });

  it('accepts an optional input the graph does not take, and never edits the spec', async () => {
    const spec: GraphSpec = { ...good, inputs: [...good.inputs, { name: 'attention_mask', dtype: 'int64', optional: true }] };
    const before = JSON.stringify(spec);
    const opened = await CheckedSession.open(graph, spec, names);
    expect(opened.problems).toEqual([]);
    expect(opened.session?.hasInput('attention_mask')).toBe(false);
    expect(JSON.stringify(spec)).toBe(before);
    await opened.session?.release();
  });

  it('returns every difference at once, and no session', async () => {
    const spec: GraphSpec = {
      file: 'text_model.onnx',
      inputs: [{ name: 'token_ids', dtype: 'int64' }],
      outputs: [{ name: 'text_embeds', dtype: 'float16', dims: ['batch', 32] }],
    };
    const opened = await CheckedSession.open(graph, spec, names);
    expect(opened.session).toBeUndefined();
    expect(opened.problems).toEqual([
      'graphs.text (text_model.onnx): input "token_ids" is declared but the graph has inputs [input_ids]',
      'graphs.text (text_model.onnx): output "text_embeds" has dtype float32, manifest says float16',
      'graphs.text (text_model.onnx): output "text_embeds" has dims ["batch", 16], manifest says ["batch", 32]',
      'graphs.text (text_model.onnx): the graph needs input "input_ids", which the manifest does not declare',
    ]);
  });

  it('accepts a free axis declared by name, and refuses a name where the graph fixes the size', async () => {
    // The built-in text graph's sequence axis is free; the tiny fixture's is fixed at 77.
    const free = join(repoRoot, 'models', 'world-rn-small', 'text_model.onnx');
    const named: GraphSpec = { ...good, inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch', 'sequence'] }], outputs: [{ name: 'text_embeds', dtype: 'float32', dims: ['batch', 128] }] };
    const opened = await CheckedSession.open(free, named, names);
    expect(opened.problems).toEqual([]);
    expect(opened.session?.inputDims('input_ids')).toEqual(['batch', 'sequence']);
    await opened.session?.release();
    const fixed = await CheckedSession.open(graph, { ...good, inputs: named.inputs }, names);
    expect(fixed.session).toBeUndefined();
    expect(fixed.problems).toEqual([
      'graphs.text (text_model.onnx): input "input_ids" has dims ["batch", 77], manifest says ["batch", "sequence"] (dim 1 is fixed at 77 in the graph, free in the manifest)',
    ]);
    // A fixed size the manifest declares may be free in the graph (the graph takes it).
    const sized = await CheckedSession.open(free, { ...named, inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch', 77] }] }, names);
    expect(sized.problems).toEqual([]);
    expect(sized.session?.inputDims('input_ids')).toEqual(['batch', 'sequence']);
    expect(sized.session?.inputDims('attention_mask')).toBeUndefined();
    await sized.session?.release();
  });

  it('reports a file that is not an ONNX graph as a problem', async () => {
    const opened = await CheckedSession.open(join(repoRoot, 'fixtures', 'models', 'tiny-clip', 'vocab.json'), { ...good, file: 'vocab.json' }, names);
    expect(opened.session).toBeUndefined();
    expect(opened.problems).toHaveLength(1);
    expect(opened.problems[0]).toMatch(/^vocab\.json: not a loadable ONNX graph \(/);
  });
});

describe('CheckedSession.open: session options', () => {
  afterEach(() => vi.restoreAllMocks());

  // onnxruntime's intra-op threads spin after each run by default; between head batches the main
  // thread pools RoIs and the spinning thread takes the other core (README "Benchmarks": RoIAlign
  // took 2x as long at --threads 2 with spinning on).
  it('turns intra-op spinning off, with or without a thread count, and passes the thread count', async () => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    for (const options of [{}, { intraOpThreads: 2 }]) {
      const opened = await CheckedSession.open(graph, good, names, options);
      await opened.session?.release();
    }
    expect(create).toHaveBeenCalledTimes(2);
    const [first, second] = create.mock.calls.map((call) => call[1] as ort.InferenceSession.SessionOptions);
    expect(first).toEqual({ graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } });
    expect(second).toEqual({ graphOptimizationLevel: 'all', intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  });
});
