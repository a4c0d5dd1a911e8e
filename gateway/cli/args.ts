import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: one line on stderr and exit code 2. */
export class UsageError extends Error {}

export type Options = ParseArgsConfig['options'];
export type Values = Record<string, string | boolean | undefined>;

export function parse(args: string[], options: Options) {
  try {
    return parseArgs({
      args,
      options: { json: { type: 'boolean' }, ...options },
      allowPositionals: false,
      strict: true,
    }).values as Values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

export function need(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
