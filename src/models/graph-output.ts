/** Reading a graph's float32 outputs by name, with one error naming the graph when one is missing. */
import { ModelRunError, expectedMessage } from '../errors.js';
import type { ort } from '../runtime/session.js';

/** The float32 output `name` of a run of `graph`. @throws ModelRunError when it is missing or not float32. */
export function floatOutput(outputs: Record<string, ort.Tensor>, name: string, graph: string): { data: Float32Array; dims: number[] } {
  const t = outputs[name];
  if (t === undefined || !(t.data instanceof Float32Array)) {
    throw new ModelRunError(expectedMessage(`a float32 output "${name}"`, `graph ${graph}`, t === undefined ? `outputs [${Object.keys(outputs).join(', ')}]` : t.type));
  }
  return { data: t.data, dims: [...t.dims] };
}
