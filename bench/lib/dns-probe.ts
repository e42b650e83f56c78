// A small in-process DNS client for what is not a load measurement: checking that a server
// answers every Service of the population, and polling for the answer lag after a change. One UDP
// socket per server, queries matched by ID; only RCODE and ANCOUNT are read (RFC 1035 §4.1.1).
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { encode, RECURSION_DESIRED, type RecordType } from 'dns-packet';
import { pool } from './client.ts';

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** A response's RCODE by name: the low 4 bits of octet 3 (RFC 1035 §4.1.1). */
export function rcodeOf(msg: Buffer): string {
  const code = (msg[3] as number) & 0x0f;
  return RCODES[code] ?? `RCODE${code}`;
}

export interface ProbeAnswer {
  rcode: string;
  answers: number;
}

export class DnsProbe {
  readonly #socket: Socket;
  readonly #pending = new Map<number, (a: ProbeAnswer) => void>();
  #nextId = 1;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg) => {
      if (msg.length < 12) return;
      const done = this.#pending.get(msg.readUInt16BE(0));
      if (done === undefined) return;
      this.#pending.delete(msg.readUInt16BE(0));
      done({ rcode: rcodeOf(msg), answers: msg.readUInt16BE(6) });
    });
  }

  static open(port: number): Promise<DnsProbe> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, '127.0.0.1', () => { socket.off('error', reject); resolve(new DnsProbe(socket)); });
    });
  }

  /** One query; undefined when no answer came within `timeoutMs`. */
  query(name: string, type: RecordType, timeoutMs = 500): Promise<ProbeAnswer | undefined> {
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 1) & 0xffff;
    this.#nextId = (id + 1) & 0xffff;
    const buf = encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#pending.delete(id); resolve(undefined); }, timeoutMs);
      this.#pending.set(id, (a) => { clearTimeout(timer); resolve(a); });
      this.#socket.send(buf);
    });
  }

  /**
   * Asks `name` every `intervalMs` (one query in flight at a time) until `done` accepts an answer;
   * resolves with performance.now() of that answer, or NaN after `timeoutMs`.
   */
  async until(name: string, type: RecordType, done: (a: ProbeAnswer) => boolean, timeoutMs: number, intervalMs = 2): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const a = await this.query(name, type, 200);
      if (a !== undefined && done(a)) return performance.now();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return Number.NaN;
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * Asks every query (`concurrency` at a time) until each gets the answer `ok` wants, retrying the
 * others; resolves with the time it took, or throws naming what still fails after `timeoutMs`.
 */
export async function waitAllAnswered(
  port: number, queries: ReadonlyArray<{ name: string; type: RecordType; ok: (a: ProbeAnswer) => boolean }>, timeoutMs: number, concurrency = 32,
): Promise<number> {
  const probe = await DnsProbe.open(port);
  const t0 = performance.now();
  try {
    let left = [...queries];
    while (left.length > 0) {
      const failed: typeof left = [];
      await pool(left, concurrency, async (q) => {
        const a = await probe.query(q.name, q.type, 1000);
        if (a === undefined || !q.ok(a)) failed.push(q);
      });
      left = failed;
      if (left.length === 0) break;
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(`${left.length} of ${queries.length} names still not answered as expected on port ${port} after ${timeoutMs} ms, e.g. ${left.slice(0, 3).map((q) => `${q.name} ${q.type}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return performance.now() - t0;
  } finally {
    probe.close();
  }
}
