/**
 * onnxruntime-node sessions, checked against their manifest entry when they load: every declared
 * input and output must exist with the declared dtype and fixed dims, and every input the graph
 * needs must be declared. All mismatches are reported together in one ModelLoadError.
 */
import ort from 'onnxruntime-node';
import { ModelLoadError, ModelRunError, expectedMessage } from '../errors.js';
import type { GraphSpec, TensorSpec } from '../models/manifest.js';

export interface SessionOptions {
  /** Threads for one operator (onnxruntime intra-op); default: onnxruntime's choice. */
  intraOpThreads?: number;
}

interface ValueMetadata { name: string; isTensor?: boolean; type?: string; shape?: ReadonlyArray<number | string> }

function metadataOf(session: ort.InferenceSession, which: 'inputMetadata' | 'outputMetadata'): Map<string, ValueMetadata> {
  const list = (session as unknown as Record<string, unknown>)[which];
  const map = new Map<string, ValueMetadata>();
  if (Array.isArray(list)) for (const m of list as ValueMetadata[]) map.set(m.name, m);
  return map;
}

function describeDims(dims: ReadonlyArray<number | string>): string {
  return `[${dims.map((d) => (typeof d === 'string' ? `"${d}"` : d)).join(', ')}]`;
}

/** Differences between a session's I/O and its manifest entry (empty when they match). */
export function compareWithSpec(session: Pick<ort.InferenceSession, 'inputNames' | 'outputNames'>, spec: GraphSpec, graphName: string): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', declared: TensorSpec[], actualNames: readonly string[], metadata: Map<string, ValueMetadata>) => {
    for (const tensor of declared) {
      if (!actualNames.includes(tensor.name)) {
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
        if (mismatch) problems.push(`${graphName}: ${kind} "${tensor.name}" has dims ${describeDims(shape)}, manifest says ${describeDims(tensor.dims)}`);
      }
    }
  };
  const inputs = metadataOf(session as ort.InferenceSession, 'inputMetadata');
  const outputs = metadataOf(session as ort.InferenceSession, 'outputMetadata');
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

  /** Creates the session; throws one ModelLoadError listing every difference from `spec`. */
  static async create(path: string, spec: GraphSpec, graphName: string, options: SessionOptions = {}): Promise<CheckedSession> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        graphOptimizationLevel: 'all',
        ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
      });
    } catch (error) {
      throw new ModelLoadError(expectedMessage('a loadable ONNX graph', path, (error as Error).message?.split('\n')[0] ?? String(error)), { cause: error });
    }
    const problems = compareWithSpec(session, spec, graphName);
    if (problems.length > 0) {
      await session.release().catch(() => undefined);
      throw new ModelLoadError(expectedMessage('a graph matching its manifest', path, `${problems.length} problem(s): ${problems.join('; ')}`));
    }
    return new CheckedSession(session, spec, graphName);
  }

  /** Wraps a session the caller has already compared with `spec`. */
  static wrap(session: ort.InferenceSession, spec: GraphSpec, graphName: string): CheckedSession {
    return new CheckedSession(session, spec, graphName);
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
