/**
 * Weight precisions a graph may come in (a manifest's `graphs.<role>.file` is fp32, `variants.<dtype>` the
 * others), chosen with `--dtype`. A module of its own so option parsing (config/) reads it without loading
 * onnxruntime.
 */
export const MODEL_DTYPES = ['fp32', 'fp16', 'int8'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];
