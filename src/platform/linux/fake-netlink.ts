/**
 * A fake at the message boundary (after mdlayher's nltest.Dial): the Linux backend runs
 * unchanged over a function that answers each netlink request. The fake frames replies as
 * the kernel does (NLM_F_MULTI parts and NLMSG_DONE for dumps, a capped ACK or an error with
 * extended-ACK text otherwise), delivers them asynchronously through the real codec, and can
 * push notifications and overruns to event sockets.
 */
import {
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  decodeNetlinkMessages,
  encodeNetlinkMessages,
  type NetlinkBody,
  type NetlinkMessage,
} from '../../codec/netlink/index.js';
import type { NetlinkDialer, NetlinkTransport, NetlinkTransportHandler, NetlinkTransportOptions } from './netlink-transport.js';

/** What the answering function returns: reply bodies, or a refusal (negative errno and the kernel's text). */
export type FakeNetlinkAnswer = { replies?: { type: number; body: NetlinkBody }[]; error?: number; extAck?: string };

export type FakeNetlinkResponder = (request: NetlinkMessage) => FakeNetlinkAnswer;

const FAKE_PORT = 4242;

/** An event socket's receive queue: notifications wait here until the loop turns, as in the kernel. */
interface EventQueue {
  handler: NetlinkTransportHandler;
  datagrams: Uint8Array[];
  /** ENOBUFS is pending: reported before anything still queued (the kernel checks sk_err first). */
  overrun: boolean;
  scheduled: boolean;
}

export class FakeNetlink {
  readonly #answer: FakeNetlinkResponder;
  readonly #eventSockets = new Map<NetlinkTransportHandler, EventQueue>();
  /** Every request seen, decoded, in order. */
  readonly requests: NetlinkMessage[] = [];

  constructor(answer: FakeNetlinkResponder) {
    this.#answer = answer;
  }

  readonly dial: NetlinkDialer = (options: NetlinkTransportOptions, handler: NetlinkTransportHandler): NetlinkTransport => {
    const subscribed = (options.groups ?? []).length > 0;
    const queue: EventQueue = { handler, datagrams: [], overrun: false, scheduled: false };
    if (subscribed) this.#eventSockets.set(handler, queue);
    let closed = false;
    return {
      discardQueued: () => {
        const dropped = queue.datagrams.length;
        queue.datagrams = [];
        return dropped;
      },
      send: (datagram) => {
        const replies: NetlinkMessage[] = [];
        for (const request of decodeNetlinkMessages(datagram)) {
          this.requests.push(request);
          replies.push(...this.#frame(request));
        }
        const bytes = encodeNetlinkMessages(replies);
        setImmediate(() => {
          if (!closed) handler.datagram(bytes);
        });
      },
      close: () => {
        closed = true;
        queue.datagrams = [];
        this.#eventSockets.delete(handler);
      },
    };
  };

  #frame(request: NetlinkMessage): NetlinkMessage[] {
    const { seq } = request.header;
    const answer = this.#answer(request);
    const isDump = (request.header.flags & NLM_F_DUMP) === NLM_F_DUMP;
    const out: NetlinkMessage[] = (answer.replies ?? []).map((r) => ({
      header: { type: r.type, flags: isDump ? NLM_F_MULTI : 0, seq, pid: FAKE_PORT },
      body: r.body,
    }));
    const echoed = { length: 16, ...request.header };
    if (answer.error !== undefined && answer.error !== 0) {
      const attributes = answer.extAck ? [{ kind: 'message' as const, value: answer.extAck }] : [];
      out.push({
        header: { type: NLMSG_ERROR, flags: NLM_F_CAPPED | (attributes.length ? NLM_F_ACK_TLVS : 0), seq, pid: FAKE_PORT },
        body: { kind: 'error', error: answer.error, request: echoed, requestPayload: new Uint8Array(), attributes },
      });
    } else if (isDump) {
      out.push({ header: { type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: FAKE_PORT }, body: { kind: 'done', status: 0, rest: new Uint8Array() } });
    } else if ((request.header.flags & NLM_F_ACK) !== 0) {
      out.push({
        header: { type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq, pid: FAKE_PORT },
        body: { kind: 'error', error: 0, request: echoed, requestPayload: new Uint8Array(), attributes: [] },
      });
    }
    return out;
  }

  /** Queues notifications (seq 0, port 0) on every event socket, as one datagram, delivered when the loop turns. */
  notify(messages: { type: number; body: NetlinkBody }[]): void {
    const bytes = encodeNetlinkMessages(messages.map((m) => ({ header: { type: m.type, flags: 0, seq: 0, pid: 0 }, body: m.body })));
    for (const queue of this.#eventSockets.values()) {
      queue.datagrams.push(bytes);
      this.#schedule(queue);
    }
  }

  /**
   * Tells every event socket that notifications were lost (as ENOBUFS does): reported before
   * the notifications still queued, which the kernel keeps and delivers after the error.
   */
  overrun(): void {
    for (const queue of this.#eventSockets.values()) {
      queue.overrun = true;
      this.#schedule(queue);
    }
  }

  #schedule(queue: EventQueue): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      if (!this.#eventSockets.has(queue.handler)) return;
      if (queue.overrun) {
        queue.overrun = false;
        queue.handler.overrun();
      }
      for (let bytes = queue.datagrams.shift(); bytes; bytes = queue.datagrams.shift()) queue.handler.datagram(bytes);
    });
  }

  get eventSocketCount(): number {
    return this.#eventSockets.size;
  }
}
