/**
 * Warnings: something went wrong that the run can do without (a cache it cannot write, given boxes
 * outside the image). The library hands each to an `onWarning(message, code)` option; without one,
 * it becomes a Node process warning with that code (`REGIONCLIP_…`), which Node prints on stderr.
 * The CLI passes its own handler, which prints "regionclip: warning: <message>".
 */

/** Receives a warning's one-line message and its code (`REGIONCLIP_CACHE_UNWRITABLE`, …). */
export type WarningHandler = (message: string, code: string) => void;

/** The default handler: `process.emitWarning(message, { code })`. */
export const processWarning: WarningHandler = (message, code) => process.emitWarning(message, { code });
