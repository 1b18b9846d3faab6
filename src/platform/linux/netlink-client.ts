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
  checkNetlinkBody,
  decodeNetlinkMessage,
  encodeNetlinkMessages,
  readU32,
  scanNetlinkMessages,
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

/**
 * A dump's replies left undecoded: copies of the datagrams that hold its parts. Decode them with
 * scanNetlinkMessages, keeping the messages whose `seq` is this one (a datagram may in principle
 * also hold other replies). Every message in them was already checked to decode without error.
 */
export interface RawDump {
  seq: number;
  datagrams: Uint8Array[];
}

interface Pending {
  seq: number;
  operation: string;
  replies: NetlinkMessage[];
  /** Set for a raw dump: its parts are kept as datagram copies instead of decoded messages. */
  raw?: Uint8Array[];
  interrupted: boolean;
  resolve(outcome: NetlinkOutcome): void;
}

/** The first message type that is not a netlink control message (NLMSG_MIN_TYPE). */
const NLMSG_MIN_TYPE = 0x10;

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
    // First check the whole datagram, decoding nothing: one bad datagram must not leave
    // requests hanging forever, so it fails what is pending and nothing of it is applied.
    try {
      scanNetlinkMessages(bytes, (type, flags, _seq, _pid, start, end) => checkNetlinkBody(type, flags, bytes, start, end));
    } catch (error) {
      this.#failAll(error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_DECODE', String(error)));
      return;
    }
    let copy: Uint8Array | undefined; // this datagram, copied once for the raw dumps it feeds
    scanNetlinkMessages(bytes, (type, flags, seq, _pid, start, end) => {
      const pending = this.#pending.get(seq);
      if (!pending || type === NLMSG_NOOP) return;
      if (type === NLMSG_ERROR && end - start >= 20 && readU32(bytes, start) === 0) {
        // A plain ACK (error 0): nothing in it to decode.
        this.#pending.delete(seq);
        pending.resolve({ ok: true, replies: pending.replies });
        return;
      }
      if (pending.raw && type >= NLMSG_MIN_TYPE) {
        // A raw dump's part: keep the bytes; the caller decodes only what it needs, when the dump ends.
        if ((flags & NLM_F_DUMP_INTR) !== 0) pending.interrupted = true;
        if (copy === undefined) copy = new Uint8Array(bytes);
        if (pending.raw[pending.raw.length - 1] !== copy) pending.raw.push(copy);
        return;
      }
      this.#settle(pending, decodeNetlinkMessage(bytes.subarray(start - 16, end)));
    });
  }

  #settle(pending: Pending, message: NetlinkMessage): void {
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
   * With `perDatagram` too, the requests go in datagrams of that many, all in one off-loop
   * call when the transport has sendManyAsync (the kernel can reschedule between datagrams).
   * Sends leave in call order, so a delete after an add reaches the kernel after it.
   */
  batch(operation: string, requests: readonly NetlinkRequest[], offLoop = false, perDatagram = Infinity): Promise<NetlinkOutcome[]> {
    return Promise.all(this.#submit(operation, requests, offLoop, perDatagram).map((p) => p.outcome));
  }

  #submit(operation: string, requests: readonly NetlinkRequest[], offLoop: boolean, perDatagram: number, raw = false): { pending: Pending; outcome: Promise<NetlinkOutcome> }[] {
    if (this.#closed) {
      const error = this.#closed;
      return requests.map(() => ({ pending: { seq: 0, operation, replies: [], interrupted: false, resolve: () => undefined }, outcome: Promise.resolve({ ok: false as const, error }) }));
    }
    const submitted: { pending: Pending; outcome: Promise<NetlinkOutcome> }[] = [];
    const messages: NetlinkMessage[] = requests.map((request) => {
      const seq = this.#nextSeq();
      const isDump = (request.flags & NLM_F_DUMP) === NLM_F_DUMP && request.type % 4 === 2;
      let pending: Pending | undefined;
      const outcome = new Promise<NetlinkOutcome>((resolve) => {
        pending = { seq, operation, replies: [], interrupted: false, resolve, ...(raw && isDump ? { raw: [] } : {}) };
        this.#pending.set(seq, pending);
      });
      submitted.push({ pending: pending as unknown as Pending, outcome });
      return { header: { type: request.type, flags: request.flags | NLM_F_REQUEST | (isDump ? 0 : NLM_F_ACK), seq, pid: 0 }, body: request.body };
    });
    /** Fails the requests from `from` on (those before it were sent and get their own replies). */
    const fail = (error: unknown, from = 0): void => {
      const e = error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_SOCKET', String(error), { cause: error });
      for (const m of messages.slice(from)) {
        const pending = this.#pending.get(m.header.seq);
        this.#pending.delete(m.header.seq);
        pending?.resolve({ ok: false, error: e });
      }
    };
    const transport = this.#transport;
    const per = offLoop && perDatagram >= 1 && perDatagram < messages.length ? Math.floor(perDatagram) : messages.length;
    const datagrams: Uint8Array[] = [];
    try {
      for (let i = 0; i < messages.length; i += per) datagrams.push(encodeNetlinkMessages(messages.slice(i, i + per)));
    } catch (error) {
      fail(error);
      return submitted;
    }
    const [single] = datagrams;
    if (this.#sending === undefined && !(offLoop && transport.sendAsync) && single !== undefined && datagrams.length === 1) {
      try {
        transport.send(single);
      } catch (error) {
        fail(error);
      }
    } else {
      const send = async (): Promise<void> => {
        if (datagrams.length > 1 && transport.sendManyAsync) return transport.sendManyAsync(datagrams);
        for (const [i, datagram] of datagrams.entries()) {
          try {
            if (offLoop && transport.sendAsync) await transport.sendAsync(datagram);
            else transport.send(datagram);
          } catch (error) {
            const e = error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_SOCKET', String(error), { cause: error });
            throw new Stable6Error(e.code, e.message, { cause: e.cause, details: { ...e.details, sentDatagrams: i } });
          }
        }
      };
      const sent = (this.#sending ?? Promise.resolve()).then(send).catch((error: unknown) => {
        const count = error instanceof Stable6Error && typeof error.details.sentDatagrams === 'number' ? error.details.sentDatagrams : 0;
        fail(error, Math.min(messages.length, count * per));
      });
      this.#sending = sent;
      void sent.then(() => {
        if (this.#sending === sent) this.#sending = undefined;
      });
    }
    return submitted;
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

  /**
   * A full dump like `dump`, its parts left as bytes (copies of the datagrams) for the caller to
   * decode in one pass when it ends. For big dumps: nothing but those copies stays alive while
   * the parts arrive, where decoded messages would each be a dozen objects that the garbage
   * collector copies again at every young-generation collection until the dump ends.
   */
  dumpRaw(operation: string, type: number, body: NetlinkBody): Promise<RawDump> {
    const run = this.#dumps.then(() => this.#dumpRaw(operation, type, body));
    this.#dumps = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #dumpRaw(operation: string, type: number, body: NetlinkBody): Promise<RawDump> {
    for (let attempt = 1; ; attempt++) {
      const [submitted] = this.#submit(operation, [{ type, flags: NLM_F_DUMP, body }], false, Infinity, true);
      if (!submitted) throw new Stable6Error('ERR_NETLINK_CLOSED', `${operation}: no outcome`);
      const outcome = await submitted.outcome;
      if (outcome.ok) return { seq: submitted.pending.seq, datagrams: submitted.pending.raw ?? [] };
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
