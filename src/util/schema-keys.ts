/**
 * The keys a zod object schema knows at a path, through optional/default/prefault wrappers, arrays and
 * records, by zod's public API: for "did you mean" suggestions on unknown keys.
 */
import { z } from 'zod';

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
  return s;
}

/** Keys of the object schema found at `path` under `root` ([] where the path leads elsewhere). */
export function knownKeysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = unwrap(root);
  for (const key of path) {
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return [];
    if (schema === undefined) return [];
    schema = unwrap(schema);
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
