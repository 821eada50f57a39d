/**
 * Instantiating the WebAssembly kernels (geometry's roi-align.wat and box-coder.wat, matching's
 * dot-rows.wat; assembled into base64 modules by tools/build-wasm.mjs). Each kernel is one module
 * instance with its own memory, created on first use and grown as inputs require; it is kept for later
 * calls (the kernels hold no other state between calls).
 */
import { invalidInput } from '../../errors.js';

/** The part of the WebAssembly JS API used here (TypeScript declares it only with the "dom" lib). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmKernel {
  memory: WasmMemory;
  exports: Record<string, unknown>;
}

/** A module instance of base64-encoded WebAssembly that exports its memory as `memory`. */
export function instantiate(base64: string): WasmKernel {
  const api: WasmApi = Reflect.get(globalThis, 'WebAssembly');
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  const { exports } = new api.Instance(new api.Module(bytes), {});
  return { memory: exports.memory as WasmMemory, exports };
}

/**
 * Grows the kernel's memory to at least `bytes`.
 * @throws InvalidInputError naming `forWhat` and `received` when WebAssembly cannot provide that much
 *   (4 GiB at most, less on some platforms).
 */
export function reserve(kernel: WasmKernel, bytes: number, forWhat: string, received: string): void {
  const have = kernel.memory.buffer.byteLength;
  if (bytes <= have) return;
  try {
    kernel.memory.grow(Math.ceil((bytes - have) / 65536));
  } catch (error) {
    throw invalidInput(`inputs whose working copy fits in WebAssembly memory (${bytes} bytes needed)`, forWhat, received, { cause: error });
  }
}
