/** `nakadachi demo`: the whole system at work on a throw-away gateway (gateway/demo). */
import { runDemo } from '../demo/demo.ts';
import { parse } from './args.ts';
import type { Out } from './output.ts';

export async function demoCommand(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Out,
  errOut: Out,
): Promise<void> {
  const values = parse(args, { keep: { type: 'boolean' } });
  const terminal = process.stdout.isTTY;
  // Ctrl-C ends the waits, so the gateway stops and the temporary directory is removed first.
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    await runDemo({
      out,
      keep: values.keep === true,
      json: values.json === true,
      color: terminal && env.NO_COLOR === undefined,
      width: terminal ? process.stdout.columns : undefined,
      signal: controller.signal,
    });
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    errOut(`nakadachi: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    process.off('SIGINT', interrupt);
  }
  // Now that everything is cleaned up, end the way a program stopped by Ctrl-C ends (status 130).
  if (controller.signal.aborted) process.kill(process.pid, 'SIGINT');
}
