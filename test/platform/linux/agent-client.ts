/**
 * The test side of agent.ts: starts the agent inside a namespace, calls operations, collects events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/netns.js';

const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent.js');

export interface AgentError {
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

export class AgentCallError extends Error {
  constructor(readonly error: AgentError) {
    super(error.message);
  }
}

/** An event as the agent prints it: addresses as text. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AgentEvent = { type: string } & Record<string, any>;

export class Agent {
  readonly events: AgentEvent[] = [];
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #next = 1;
  stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(ns: Netns, env: Record<string, string> = {}): Promise<Agent> {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const agent = new Agent(child);
    child.stderr?.on('data', (d: Buffer) => (agent.stderr += d.toString()));
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; ok?: boolean; result?: unknown; error?: AgentError; event?: AgentEvent; ready?: boolean };
      if (msg.ready) ready = true;
      else if (msg.event) agent.events.push(msg.event);
      else if (msg.id !== undefined) {
        const p = agent.#pending.get(msg.id);
        agent.#pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new AgentCallError(msg.error ?? { message: 'unknown' }));
      }
    });
    child.on('exit', () => {
      for (const p of agent.#pending.values()) p.reject(new Error(`agent exited: ${agent.stderr}`));
      agent.#pending.clear();
    });
    await waitFor('the agent to start', async () => (ready ? true : undefined), 15000);
    return agent;
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Waits for an event matching `match` among those from index `from` on. */
  waitEvent(what: string, match: (e: AgentEvent) => boolean, timeoutMs = 10000, from = 0): Promise<AgentEvent> {
    return waitFor(what, async () => this.events.slice(from).find(match), timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.call('close').catch(() => undefined);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
