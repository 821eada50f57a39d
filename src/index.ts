/** regionclip: open-vocabulary object detection for Node.js (RegionCLIP). Public API. */
export * from './geometry/index.js';
export {
  RegionClipError,
  UsageError,
  InvalidInputError,
  ConfigError,
  ModelLoadError,
  ModelRunError,
  IoError,
  EXIT_CODES,
  type ExitCode,
} from './errors.js';
export * from './text/index.js';
