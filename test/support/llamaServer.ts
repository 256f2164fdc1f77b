/**
 * The real llama.cpp server of ../shared/tools/llama-server, started for a test on a free loopback port with the
 * GGUF of the stories260K weights, and stopped by its pid (SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SHARED, STORIES_260K } from './paths';

export const LLAMA_SERVER = join(SHARED, 'tools', 'llama-server', 'llama-server');
export const STORIES_GGUF = join(STORIES_260K, 'stories260K.gguf');

/** A skip reason when the server or the GGUF is not beside the repository. */
export const llamaServerMissing: string | false = existsSync(LLAMA_SERVER) && existsSync(STORIES_GGUF) ? false : `${LLAMA_SERVER} or ${STORIES_GGUF} is missing`;

export interface RunningServer {
  port: number;
  /** The OpenAI-compatible base URL. */
  endpoint: string;
  process: ChildProcess;
  /** SIGTERM (or `signal`), then waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A port nobody listens on at this moment. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the server (`-c 2048 -np 4 -t 1`, as SOURCE.md advises) and waits until /health says ok. */
export async function startLlamaServer(port?: number): Promise<RunningServer> {
  const chosen = port ?? (await freePort());
  const child = spawn(LLAMA_SERVER, ['-m', STORIES_GGUF, '--host', '127.0.0.1', '--port', String(chosen), '-c', '2048', '-np', '4', '-t', '1'], { stdio: 'ignore' });
  let exited = false;
  const ended = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, signal);
    await ended;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`llama-server exited before it was healthy (port ${chosen})`);
    try {
      const response = await fetch(`http://127.0.0.1:${chosen}/health`);
      if (response.ok && ((await response.json()) as { status?: string }).status === 'ok') break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`llama-server on port ${chosen} was not healthy within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port: chosen, endpoint: `http://127.0.0.1:${chosen}/v1`, process: child, stop };
}
