/**
 * Running external tools (umoci, skopeo, tar, the AWS CLI) from tests: with `execFile` (no shell), and a failure
 * message that carries the command line, the exit status and the tool's stderr.
 */
import { execFile } from 'node:child_process';

export interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default the current directory */
  readonly cwd?: string;
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

/** An external tool failed; `exitCode`, `stdout` and `stderr` are kept for assertions. */
export class ToolError extends Error {
  constructor(
    message: string,
    public readonly exitCode: number | null,
    public readonly stdout: string,
    public readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Runs `file args...` without a shell; resolves with the raw stdout, rejects with a ToolError carrying stderr. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, {
      encoding: 'buffer',
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const err = stderr.toString('utf8');
      if (error) {
        const code = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null;
        const signal = (error as { signal?: string }).signal;
        const status = code !== null ? `exit status ${code}` : signal ? `signal ${signal}` : String(error.message);
        reject(new ToolError(
          `command failed (${status}): ${[file, ...args].join(' ')}\n--- stderr ---\n${err.trim()}\n--- stdout ---\n${stdout.toString('utf8').trim().slice(0, 4000)}`,
          code, stdout.toString('utf8'), err));
        return;
      }
      resolve({ stdout, stderr: err });
    });
  });
}

/** The stderr of a tool run that must fail (the command line is left out: it may carry a password). */
export async function toolFailure(work: Promise<unknown>, tool = 'the tool'): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (err instanceof ToolError) return err.stderr;
    throw err;
  }
  throw new Error(`${tool} succeeded where it had to fail`);
}
