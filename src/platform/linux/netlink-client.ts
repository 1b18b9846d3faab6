/**
 * Requests and their replies over one netlink transport.
 *
 * Every request carries its own sequence number, so a batch sent in one datagram gets one
 * outcome per request: the kernel ACKs each (NETLINK_CAP_ACK keeps the ACKs small) with
 * its own errno and extended-ACK text. Dumps collect their parts until NLMSG_DONE; a dump
 * marked NLM_F_DUMP_INTR is listed again, never read as "the rest is gone".
 */
import { randomInt } from 'node:crypto';
import { Stable6Error } from '../../errors.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  attributeValue,
  decodeNetlinkMessages,
  encodeNetlinkMessages,
  type NetlinkBody,
  type NetlinkMessage,
} from '../../codec/netlink/index.js';
import { errnoName } from './libc.js';
import type { NetlinkDialer, NetlinkTransport, NetlinkTransportOptions } from './netlink-transport.js';

export interface NetlinkRequest {
  type: number;
  /** Beyond NLM_F_REQUEST (always set) and NLM_F_ACK (set for every non-dump request). */
  flags: number;
  body: NetlinkBody;
}

/** Replies of one request (empty for a plain ACK), or its error. */
export type NetlinkOutcome = { ok: true; replies: NetlinkMessage[] } | { ok: false; error: Stable6Error };

interface Pending {
  operation: string;
  replies: NetlinkMessage[];
  interrupted: boolean;
  resolve(outcome: NetlinkOutcome): void;
}

const MAX_DUMP_ATTEMPTS = 8;

/** The error of a refused request: operation, errno name and the kernel's own words. */
export function requestError(operation: string, errno: number, extAck?: string, offset?: number): Stable6Error {
  const name = errnoName(errno);
  const text = extAck ? `: ${extAck}` : '';
  return new Stable6Error('ERR_NETLINK_REQUEST', `${operation} failed: ${name}${text}`, {
    details: { operation, errno: name, errnoNumber: Math.abs(errno), ...(extAck ? { extAck } : {}), ...(offset !== undefined ? { extAckOffset: offset } : {}) },
  });
}

export class NetlinkClient {
  readonly #transport: NetlinkTransport;
  readonly #pending = new Map<number, Pending>();
  #seq = randomInt(0x7fffffff); // a fresh socket gets a fresh port anyway; this only helps reading traces
  #closed: Stable6Error | undefined;
  #dumps: Promise<void> = Promise.resolve();
  /** The last off-loop send still in flight: later sends wait for it, to keep their order. */
  #sending: Promise<void> | undefined;

  constructor(dial: NetlinkDialer, options: NetlinkTransportOptions = {}) {
    this.#transport = dial(
      { ...options, groups: [] },
      {
        datagram: (bytes) => this.#receive(bytes),
        // Replies were dropped: nothing pending can be trusted to complete.
        overrun: () => this.#failAll(new Stable6Error('ERR_NETLINK_SOCKET', 'netlink request socket overrun (ENOBUFS): replies lost', { details: { errno: 'ENOBUFS' } })),
        failed: (error) => this.#close(error),
      },
    );
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  #receive(bytes: Uint8Array): void {
    let messages: NetlinkMessage[];
    try {
      messages = decodeNetlinkMessages(bytes);
    } catch (error) {
      // One bad datagram must not leave requests hanging forever: fail what is pending.
      this.#failAll(error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_DECODE', String(error)));
      return;
    }
    for (const message of messages) {
      const pending = this.#pending.get(message.header.seq);
      if (!pending || message.header.type === NLMSG_NOOP) continue;
      const { body } = message;
      if (body.kind === 'error' && message.header.type === NLMSG_ERROR) {
        this.#pending.delete(message.header.seq);
        if (body.error === 0) pending.resolve({ ok: true, replies: pending.replies });
        else
          pending.resolve({
            ok: false,
            error: requestError(pending.operation, body.error, attributeValue(body.attributes, 'message'), attributeValue(body.attributes, 'offset')),
          });
      } else if (message.header.type === NLMSG_DONE) {
        this.#pending.delete(message.header.seq);
        const status = body.kind === 'done' ? body.status : 0;
        if ((message.header.flags & NLM_F_DUMP_INTR) !== 0) pending.interrupted = true;
        if (status < 0) pending.resolve({ ok: false, error: requestError(pending.operation, status) });
        else if (pending.interrupted) pending.resolve({ ok: false, error: interrupted(pending.operation) });
        else pending.resolve({ ok: true, replies: pending.replies });
      } else {
        if ((message.header.flags & NLM_F_DUMP_INTR) !== 0) pending.interrupted = true;
        pending.replies.push(message);
      }
    }
  }

  #failAll(error: Stable6Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.resolve({ ok: false, error });
  }

  #close(error: Stable6Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#failAll(error);
  }

  /**
   * Sends the requests in one datagram; resolves with one outcome per request, in order.
   * With `offLoop`, the kernel's work on the batch runs off the event loop (sendAsync).
   * Sends leave in call order, so a delete after an add reaches the kernel after it.
   */
  batch(operation: string, requests: readonly NetlinkRequest[], offLoop = false): Promise<NetlinkOutcome[]> {
    if (this.#closed) return Promise.resolve(requests.map(() => ({ ok: false as const, error: this.#closed as Stable6Error })));
    const promises: Promise<NetlinkOutcome>[] = [];
    const messages: NetlinkMessage[] = requests.map((request) => {
      const seq = this.#nextSeq();
      const isDump = (request.flags & NLM_F_DUMP) === NLM_F_DUMP && request.type % 4 === 2;
      promises.push(
        new Promise<NetlinkOutcome>((resolve) => this.#pending.set(seq, { operation, replies: [], interrupted: false, resolve })),
      );
      return { header: { type: request.type, flags: request.flags | NLM_F_REQUEST | (isDump ? 0 : NLM_F_ACK), seq, pid: 0 }, body: request.body };
    });
    const fail = (error: unknown): void => {
      const e = error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_SOCKET', String(error), { cause: error });
      for (const m of messages) {
        const pending = this.#pending.get(m.header.seq);
        this.#pending.delete(m.header.seq);
        pending?.resolve({ ok: false, error: e });
      }
    };
    let datagram: Uint8Array;
    try {
      datagram = encodeNetlinkMessages(messages);
    } catch (error) {
      fail(error);
      return Promise.all(promises);
    }
    const transport = this.#transport;
    if (this.#sending === undefined && !(offLoop && transport.sendAsync)) {
      try {
        transport.send(datagram);
      } catch (error) {
        fail(error);
      }
    } else {
      const send = (): Promise<void> | void => (offLoop && transport.sendAsync ? transport.sendAsync(datagram) : transport.send(datagram));
      const sent = (this.#sending ?? Promise.resolve()).then(send).catch(fail);
      this.#sending = sent;
      void sent.then(() => {
        if (this.#sending === sent) this.#sending = undefined;
      });
    }
    return Promise.all(promises);
  }

  /** One request; its replies, or throws its error. */
  async request(operation: string, request: NetlinkRequest): Promise<NetlinkMessage[]> {
    const [outcome] = await this.batch(operation, [request]);
    if (!outcome) throw new Stable6Error('ERR_NETLINK_CLOSED', `${operation}: no outcome`);
    if (!outcome.ok) throw outcome.error;
    return outcome.replies;
  }

  /**
   * A full dump, listed again while the kernel marks it interrupted. One dump at a time per
   * socket: the kernel answers a second concurrent dump with EBUSY.
   */
  dump(operation: string, type: number, body: NetlinkBody): Promise<NetlinkMessage[]> {
    const run = this.#dumps.then(() => this.#dump(operation, type, body));
    this.#dumps = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #dump(operation: string, type: number, body: NetlinkBody): Promise<NetlinkMessage[]> {
    for (let attempt = 1; ; attempt++) {
      const [outcome] = await this.batch(operation, [{ type, flags: NLM_F_DUMP, body }]);
      if (!outcome) throw new Stable6Error('ERR_NETLINK_CLOSED', `${operation}: no outcome`);
      if (outcome.ok) return outcome.replies;
      if (outcome.error.details.interrupted !== true || attempt >= MAX_DUMP_ATTEMPTS) throw outcome.error;
    }
  }

  close(): void {
    this.#close(new Stable6Error('ERR_NETLINK_CLOSED', 'netlink connection closed'));
    this.#transport.close();
  }
}

function interrupted(operation: string): Stable6Error {
  return new Stable6Error('ERR_NETLINK_REQUEST', `${operation}: the dump was interrupted by changes (NLM_F_DUMP_INTR)`, {
    details: { operation, interrupted: true },
  });
}

export type { NetlinkTransportOptions };
