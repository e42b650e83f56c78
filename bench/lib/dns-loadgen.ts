// The DNS load generator's child process (forked by dns-load.ts, never imported): UDP queries to
// one server on loopback, with a fixed number of queries outstanding, like dnsperf (-q) does, or
// paced at a fixed rate (dnsperf -Q). It runs in a process of its own so that it never shares an
// event loop with the server it measures. The parent sends one LoadgenJob over IPC and gets one
// LoadgenResult back.
//
// Per query it does as little as it can: the query is encoded once (dns-packet), each send is a copy
// with a fresh ID (RFC 1035 §4.1.1: the ID is the first two octets), and a response is matched by
// its ID and read for RCODE (low 4 bits of octet 3) and ANCOUNT (octets 6-7) only.
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { encode, RECURSION_DESIRED } from 'dns-packet';
import type { LoadgenJob, LoadgenResult, MixQuery } from './dns-load.ts';
import { rcodeOf } from './dns-probe.ts';

const ID_SPACE = 65536;

interface Lane {
  socket: Socket;
  /** performance.now() of the send, per ID; NaN when the ID is free. */
  sentAt: Float64Array;
  /** Index into the mix, per ID. */
  query: Int32Array;
  /** Whether the query was sent inside the measured window, per ID. */
  measured: Uint8Array;
  nextId: number;
  inflight: number;
}

function run(job: LoadgenJob): Promise<LoadgenResult> {
  const templates = job.mix.map((q) => encode({
    type: 'query', id: 0, flags: RECURSION_DESIRED, questions: [{ type: q.type, name: q.name, class: 'IN' }],
  }));
  const lanes: Lane[] = [];
  const latencies: number[] = [];
  const rcodes: Record<string, number> = {};
  const mismatches: LoadgenResult['mismatches'] = [];
  let mismatchCount = 0;
  let sent = 0;
  let sentMeasured = 0;
  let answered = 0;
  let timeouts = 0;
  let lateOrUnknown = 0;
  let cursor = job.offset % job.mix.length;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let sending = true;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;

  const inflight = (): number => lanes.reduce((n, l) => n + l.inflight, 0);

  const send = (lane: Lane): void => {
    // Skip IDs still in flight (only possible with more than 65,536 outstanding on one socket).
    let id = lane.nextId;
    while (!Number.isNaN(lane.sentAt[id] as number)) id = (id + 1) % ID_SPACE;
    lane.nextId = (id + 1) % ID_SPACE;
    const qi = cursor;
    cursor = (cursor + 1) % job.mix.length;
    const buf = Buffer.from(templates[qi] as Buffer);
    buf.writeUInt16BE(id, 0);
    const now = performance.now();
    lane.sentAt[id] = now;
    lane.query[id] = qi;
    const inWindow = now >= windowStart && now < windowEnd;
    lane.measured[id] = inWindow ? 1 : 0;
    if (inWindow) sentMeasured++;
    lane.inflight++;
    sent++;
    lane.socket.send(buf);
  };

  const check = (q: MixQuery, rcode: string, answers: number): void => {
    if (q.expect === undefined) return;
    const ok = q.expect.rcode === rcode && (q.expect.answers === undefined || (q.expect.answers ? answers > 0 : answers === 0));
    if (ok) return;
    mismatchCount++;
    if (mismatches.length < 10) mismatches.push({ name: q.name, type: q.type, expected: q.expect, rcode, answers });
  };

  const onMessage = (lane: Lane) => (msg: Buffer): void => {
    const now = performance.now();
    if (msg.length < 12) { lateOrUnknown++; return; }
    const id = msg.readUInt16BE(0);
    const t = lane.sentAt[id] as number;
    if (Number.isNaN(t)) { lateOrUnknown++; return; }
    lane.sentAt[id] = Number.NaN;
    lane.inflight--;
    const q = job.mix[lane.query[id] as number] as MixQuery;
    const rcode = rcodeOf(msg);
    const answers = msg.readUInt16BE(6);
    if (lane.measured[id] === 1) {
      latencies.push(now - t);
      rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
      check(q, rcode, answers);
    }
    if (now >= windowStart && now < windowEnd) answered++;
    if (sending && job.rateQps === undefined) send(lane);
  };

  return new Promise((resolve, reject) => {
    let bound = 0;
    for (let i = 0; i < job.sockets; i++) {
      const socket = createSocket('udp4');
      const lane: Lane = { socket, sentAt: new Float64Array(ID_SPACE).fill(Number.NaN), query: new Int32Array(ID_SPACE), measured: new Uint8Array(ID_SPACE), nextId: (i * 7919) % ID_SPACE, inflight: 0 };
      lanes.push(lane);
      socket.on('error', reject);
      socket.on('message', onMessage(lane));
      socket.connect(job.port, job.host, () => {
        // Bigger kernel buffers, so bursts of responses are not dropped before the loop reads them.
        try { socket.setRecvBufferSize(4 * 1024 * 1024); socket.setSendBufferSize(4 * 1024 * 1024); } catch { /* capped by net.core.*mem_max */ }
        if (++bound === job.sockets) start();
      });
    }

    const start = (): void => {
      const t0 = performance.now() + Math.max(0, job.startAtWallMs - Date.now());
      setTimeout(() => {
        const begin = performance.now();
        windowStart = begin + job.warmupMs;
        windowEnd = windowStart + job.durationMs;
        setTimeout(() => { cpuAtStart = process.cpuUsage(); }, job.warmupMs);
        if (job.rateQps === undefined) {
          for (let i = 0; i < job.outstanding; i++) send(lanes[i % lanes.length] as Lane);
        } else {
          pace(begin, job.rateQps);
        }
        const sweeper = setInterval(sweep, 50);
        setTimeout(() => {
          cpu = process.cpuUsage(cpuAtStart);
          sending = false;
          // Let the last queries of the window come back (or time out), then report.
          const drainUntil = performance.now() + job.timeoutMs + 100;
          const drain = setInterval(() => {
            sweep();
            if (inflight() === 0 || performance.now() > drainUntil) {
              clearInterval(drain);
              clearInterval(sweeper);
              for (const l of lanes) l.socket.close();
              resolve({
                sent, sentMeasured, answered, timeouts, lateOrUnknown, windowMs: job.durationMs,
                latenciesMs: Float64Array.from(latencies), rcodes, mismatchCount, mismatches,
                cpuMs: cpu === undefined ? Number.NaN : (cpu.user + cpu.system) / 1000,
              });
            }
          }, 20);
        }, job.warmupMs + job.durationMs);
      }, Math.max(0, t0 - performance.now()));
    };

    // Paced sends: every millisecond, whatever the rate says is due, as long as no more than
    // `outstanding` queries are in flight (the rest are counted as not sent, and show in qps).
    const pace = (begin: number, rate: number): void => {
      let due = 0;
      let lane = 0;
      const timer = setInterval(() => {
        if (!sending) { clearInterval(timer); return; }
        const target = Math.floor(((performance.now() - begin) * rate) / 1000);
        while (due < target) {
          due++;
          if (inflight() >= job.outstanding) continue;
          send(lanes[lane++ % lanes.length] as Lane);
        }
      }, 1);
    };

    // A query with no answer after timeoutMs is lost (UDP); its ID is freed and, in the closed
    // loop, another query takes its place so the number outstanding stays fixed.
    const sweep = (): void => {
      const now = performance.now();
      for (const lane of lanes) {
        if (lane.inflight === 0) continue;
        for (let id = 0; id < ID_SPACE; id++) {
          const t = lane.sentAt[id] as number;
          if (Number.isNaN(t) || now - t < job.timeoutMs) continue;
          lane.sentAt[id] = Number.NaN;
          lane.inflight--;
          if (lane.measured[id] === 1) timeouts++;
          if (sending && job.rateQps === undefined) send(lane);
        }
      }
    };
  });
}

process.once('message', (job: LoadgenJob) => {
  run(job).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => process.send?.({ ok: false, error: (err as Error).stack ?? String(err) }, () => process.exit(1)),
  );
});
