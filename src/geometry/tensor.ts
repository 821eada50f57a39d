/** A dense float32 tensor, row-major, in onnxruntime's `{ data, dims }` convention. */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}
