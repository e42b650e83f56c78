// A trivial DNS responder (forked by dns-servers.ts, never imported): it turns each query into an
// empty NOERROR response by setting QR and RA in place (RFC 1035 §4.1.1) and sends it back. It
// costs the server side as little as a Node process can, so a run against it shows the ceiling of
// the load generator: a server measured well below that ceiling is not being held back by it.
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  msg[2] = ((msg[2] as number) | 0x80) & 0xf9; // QR=1, AA=0, TC=0; opcode and RD kept
  msg[3] = 0x80; // RA=1, RCODE=NOERROR
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind(0, '127.0.0.1', () => {
  try { socket.setRecvBufferSize(4 * 1024 * 1024); socket.setSendBufferSize(4 * 1024 * 1024); } catch { /* capped by the kernel */ }
  process.send?.({ port: socket.address().port });
});
// Dies with the benchmark: the IPC channel closes when the parent exits, however it exits.
process.on('disconnect', () => process.exit(0));
