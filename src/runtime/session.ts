/**
 * onnxruntime-node sessions, checked against their manifest entry when they load: every declared
 * input and output must exist with the declared dtype and dims (an input declared `optional` may be
 * absent), and every input the graph needs must be declared. A dim declared as a number must be that
 * size or free in the graph; one declared by name (e.g. a text tower's "sequence") must be free in
 * the graph, since the runtime feeds it sizes of its choosing. `CheckedSession.open` returns
 * every mismatch, so the loader (models/loader.ts) reports the problems of all graphs in one
 * ModelLoadError. The graph-spec schema (what a manifest's `graphs.*` entries hold)
 * lives here, so models/ imports runtime/ and never the other way round.
 */
import ort from 'onnxruntime-node';
import { z } from 'zod';
import { ModelRunError, expectedMessage } from '../errors.js';
export { MODEL_DTYPES, type ModelDtype } from './dtypes.js';

const dim = z.union([z.number().int().nonnegative(), z.string().min(1)]);
export const tensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'float16', 'int64', 'int32', 'uint8', 'bool']),
  /** Fixed sizes as numbers, symbolic (free) sizes as names such as "batch". */
  dims: z.array(dim).optional(),
  /** An input some exports of the graph take and others do not (e.g. a text tower's attention_mask). */
  optional: z.boolean().optional(),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

export const graphSpecSchema = z.strictObject({
  file: z.string().min(1),
  inputs: z.array(tensorSpecSchema).min(1),
  outputs: z.array(tensorSpecSchema).min(1),
  /**
   * The same graph in other weight precisions, same inputs and outputs (float32 I/O): int8 QDQ files from
   * training/convert/quantize.py, chosen with `--dtype` (`LoadOptions.dtype`). Each file is hashed in `files`.
   */
  variants: z.strictObject({ fp16: z.string().min(1).optional(), int8: z.string().min(1).optional() }).optional(),
});
export type GraphSpec = z.infer<typeof graphSpecSchema>;

export interface SessionOptions {
  /** Threads for one operator (onnxruntime intra-op); default: onnxruntime's choice (one per physical core). Spinning is always off. */
  intraOpThreads?: number;
}

/**
 * onnxruntime's intra-op threads spin (busy-wait) after each run by default. Our runs alternate
 * with JavaScript work on the main thread (RoIAlign between head batches, NMS, scoring), which a
 * spinning thread slows down by taking the other core: on 2 cores, --threads 2 with spinning made
 * RoIAlign between head batches twice as slow (README "Benchmarks").
 */
const NO_SPINNING = { session: { intra_op: { allow_spinning: '0' } } };

interface ValueMetadata { name: string; type?: string; shape?: ReadonlyArray<number | string> }

function metadataOf(list: readonly ort.InferenceSession.ValueMetadata[]): Map<string, ValueMetadata> {
  const map = new Map<string, ValueMetadata>();
  for (const m of list) map.set(m.name, m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name });
  return map;
}

function describeDims(dims: ReadonlyArray<number | string>): string {
  return `[${dims.map((d) => (typeof d === 'string' ? `"${d}"` : d)).join(', ')}]`;
}

/** Differences between a session's I/O and its manifest entry (empty when they match). */
export function compareWithSpec(session: Pick<ort.InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>, spec: GraphSpec, graphName: string): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', declared: TensorSpec[], actualNames: readonly string[], metadata: Map<string, ValueMetadata>) => {
    for (const tensor of declared) {
      if (!actualNames.includes(tensor.name)) {
        if (tensor.optional) continue;
        problems.push(`${graphName}: ${kind} "${tensor.name}" is declared but the graph has ${kind}s [${actualNames.join(', ')}]`);
        continue;
      }
      const meta = metadata.get(tensor.name);
      if (meta?.type !== undefined && meta.type !== tensor.dtype) {
        problems.push(`${graphName}: ${kind} "${tensor.name}" has dtype ${meta.type}, manifest says ${tensor.dtype}`);
      }
      if (tensor.dims !== undefined && meta?.shape !== undefined) {
        const shape = meta.shape;
        const mismatch = shape.length !== tensor.dims.length ||
          tensor.dims.some((d, i) => typeof d === 'number' && typeof shape[i] === 'number' && shape[i] !== d);
        // onnxruntime reports a free dim as its name, or "" when it has none.
        const fixedWhereFree = mismatch ? -1 : tensor.dims.findIndex((d, i) => typeof d === 'string' && typeof shape[i] === 'number');
        const why = fixedWhereFree >= 0 ? ` (dim ${fixedWhereFree} is fixed at ${shape[fixedWhereFree]} in the graph, free in the manifest)` : '';
        if (mismatch || fixedWhereFree >= 0) problems.push(`${graphName}: ${kind} "${tensor.name}" has dims ${describeDims(shape)}, manifest says ${describeDims(tensor.dims)}${why}`);
      }
    }
  };
  const inputs = metadataOf(session.inputMetadata);
  const outputs = metadataOf(session.outputMetadata);
  check('input', spec.inputs, session.inputNames, inputs);
  check('output', spec.outputs, session.outputNames, outputs);
  for (const name of session.inputNames) {
    if (!spec.inputs.some((t) => t.name === name)) problems.push(`${graphName}: the graph needs input "${name}", which the manifest does not declare`);
  }
  return problems;
}

/** A loaded ONNX graph plus the manifest entry it was checked against. */
export class CheckedSession {
  private constructor(readonly session: ort.InferenceSession, readonly spec: GraphSpec, readonly graphName: string) {}

  /**
   * The one way a graph is opened: creates the session and compares it with `spec` (problems are
   * prefixed with `names.check`; run errors name `names.run`). Returns the
   * session, or every problem found (the session is then released), so a loader can report the
   * problems of all its graphs together.
   */
  static async open(path: string, spec: GraphSpec, names: { run: string; check: string; file?: string }, options: SessionOptions = {}): Promise<{ session: CheckedSession; problems: [] } | { session: undefined; problems: string[] }> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        graphOptimizationLevel: 'all',
        ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
        extra: NO_SPINNING,
      });
    } catch (error) {
      return { session: undefined, problems: [`${names.file ?? spec.file}: not a loadable ONNX graph (${(error as Error).message?.split('\n')[0] ?? String(error)})`] };
    }
    const problems = compareWithSpec(session, spec, names.check);
    if (problems.length > 0) {
      await session.release().catch(() => undefined);
      return { session: undefined, problems };
    }
    return { session: new CheckedSession(session, spec, names.run), problems: [] };
  }

  /** Whether the graph takes this input (an `optional` input may be absent). */
  hasInput(name: string): boolean {
    return this.session.inputNames.includes(name);
  }

  /** The input's dims as the graph declares them (numbers fixed, names free, "" free and unnamed); undefined when it has no such input or says nothing. */
  inputDims(name: string): ReadonlyArray<number | string> | undefined {
    return metadataOf(this.session.inputMetadata).get(name)?.shape;
  }

  /** Runs the graph; failures become ModelRunError naming the graph. */
  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    try {
      return await this.session.run(feeds);
    } catch (error) {
      throw new ModelRunError(expectedMessage('a successful run', `graph ${this.graphName}`, (error as Error).message?.split('\n')[0] ?? String(error)), { cause: error });
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export { ort };
