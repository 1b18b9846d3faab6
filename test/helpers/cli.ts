import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output (fast; the spawn tests cover the binary itself). */
export async function cli(argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readStdin: async () => options.stdin ?? '',
    env: options.env ?? {},
  });
  return { status, stdout, stderr };
}
