// DNS over TCP frames every message with its length as two bytes (RFC 1035 §4.2.2, RFC 7766 §8):
// the server reads queries and the forwarder reads answers this way.

/** Collects the bytes of one TCP stream and hands out the whole messages in them, in order. */
export class TcpFrames {
  #buffered: Buffer = Buffer.alloc(0);

  /** The messages `chunk` completes (without their length prefix); a partial one waits for more. */
  push(chunk: Buffer): Buffer[] {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const messages: Buffer[] = [];
    while (this.#buffered.length >= 2) {
      const size = this.#buffered.readUInt16BE(0);
      if (this.#buffered.length < 2 + size) break;
      messages.push(this.#buffered.subarray(2, 2 + size));
      this.#buffered = this.#buffered.subarray(2 + size);
    }
    return messages;
  }
}
