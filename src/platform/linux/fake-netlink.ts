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

export class FakeNetlink {
  readonly #answer: FakeNetlinkResponder;
  readonly #eventSockets = new Set<NetlinkTransportHandler>();
  /** Every request seen, decoded, in order. */
  readonly requests: NetlinkMessage[] = [];

  constructor(answer: FakeNetlinkResponder) {
    this.#answer = answer;
  }

  readonly dial: NetlinkDialer = (options: NetlinkTransportOptions, handler: NetlinkTransportHandler): NetlinkTransport => {
    const subscribed = (options.groups ?? []).length > 0;
    if (subscribed) this.#eventSockets.add(handler);
    let closed = false;
    return {
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

  /** Delivers notifications (seq 0, port 0) to every event socket, as one datagram. */
  notify(messages: { type: number; body: NetlinkBody }[]): void {
    const bytes = encodeNetlinkMessages(messages.map((m) => ({ header: { type: m.type, flags: 0, seq: 0, pid: 0 }, body: m.body })));
    for (const handler of this.#eventSockets) setImmediate(() => handler.datagram(bytes));
  }

  /** Tells every event socket that notifications were lost (as ENOBUFS does). */
  overrun(): void {
    for (const handler of this.#eventSockets) setImmediate(() => handler.overrun());
  }

  get eventSocketCount(): number {
    return this.#eventSockets.size;
  }
}
