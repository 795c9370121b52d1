// A TCP proxy for outages that are real to whoever talks through it: cut, every connection is
// reset and new ones are refused; restored, it forwards again.
import net from 'node:net';

/** A TCP proxy to `target` that can be cut (every connection reset, new ones closed) and restored. */
export class CuttableProxy {
  private readonly sockets = new Set<net.Socket>();
  private up = true;
  private readonly server: net.Server;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (!this.up) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
