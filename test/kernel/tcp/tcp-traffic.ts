// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic for the TCP probe's kernel tests, run as a child process inside a
 * test cgroup (and, for some scenarios, a test network namespace) so that
 * the aggregates of that cgroup hold only this traffic.
 *
 *   loopback <host> <count>            listen on host:0, make <count> connections to it, one at a time
 *   serve <host> <port> <count>        accept <count> connections, read each to EOF, close
 *   connect <host> <port> <count>      make <count> connections, one at a time
 *   connect-fail <host> <port>         one connect expected to fail
 *   send <host> <port> <bytes> <delayMs> [localPort]  connect, print "connected", wait, send, wait for the peer to close
 *   hold <host> <port> <localPort>     connect from localPort, print "connected", keep the socket until stdin closes
 *   abort <host> <count> <bytes> <holdMs>  <count> connections, each sends <bytes>, is held >= <holdMs>, then closes with an RST
 * Prints "done" when finished; exits 1 on an unexpected error.
 */
import net from 'node:net';

const [mode, host = '127.0.0.1', a1 = '0', a2 = '0', a3 = '0', a4] = process.argv.slice(2);

function connectOnce(port: number, localPort?: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, ...(localPort ? { localPort } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Waits until at least `ms` have passed since `since` (a process.hrtime.bigint() reading).
 * A timer alone can fire up to ~1 ms early: libuv schedules it from the loop's cached clock.
 */
async function holdUntil(since: bigint, ms: number): Promise<void> {
  const deadline = since + BigInt(Math.round(ms * 1e6));
  for (let left = deadline - process.hrtime.bigint(); left > 0n; left = deadline - process.hrtime.bigint()) {
    await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(Number(left) / 1e6))));
  }
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((r) => {
    if (s.destroyed && s.closed) r();
    else s.once('close', () => r());
  });
}

async function connectMany(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const s = await connectOnce(port);
    s.resume();
    s.end();
    await closed(s);
  }
}

function serve(port: number, count: number, listenHost = host): Promise<net.Server> {
  let seen = 0;
  const all: Promise<void>[] = [];
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end());
    all.push(closed(s));
    if (++seen === count) {
      srv.close();
      void Promise.all(all).then(() => srv.emit('allClosed'));
    }
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, listenHost, () => resolve(srv));
  });
}

async function main(): Promise<void> {
  switch (mode) {
    case 'loopback': {
      const count = Number(a1);
      const srv = await serve(0, count);
      const done = new Promise((r) => srv.once('allClosed', r));
      await connectMany((srv.address() as net.AddressInfo).port, count);
      await done;
      break;
    }
    case 'abort': {
      // count connections, each sends a2 bytes, waits a3 ms, then closes with an RST (SO_LINGER {1, 0}).
      const count = Number(a1);
      const srv = await serve(0, count);
      const done = new Promise((r) => srv.once('allClosed', r));
      const port = (srv.address() as net.AddressInfo).port;
      for (let i = 0; i < count; i++) {
        const s = await connectOnce(port);
        // The kernel's lifetime starts at or before the handshake completes, so hold from here.
        const connectedAt = process.hrtime.bigint();
        s.on('error', () => {});
        await new Promise<void>((r) => s.write(Buffer.alloc(Number(a2), 120), () => r()));
        await holdUntil(connectedAt, Number(a3));
        s.resetAndDestroy();
        await closed(s);
      }
      await done;
      break;
    }
    case 'serve': {
      const srv = await serve(Number(a1), Number(a2));
      console.log('listening');
      await new Promise((r) => srv.once('allClosed', r));
      break;
    }
    case 'connect':
      await connectMany(Number(a1), Number(a2));
      break;
    case 'connect-fail':
      try {
        const s = await connectOnce(Number(a1));
        s.destroy();
        throw new Error('connect unexpectedly succeeded');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
      }
      break;
    case 'send': {
      const s = await connectOnce(Number(a1), a4 ? Number(a4) : undefined);
      console.log('connected');
      await new Promise((r) => setTimeout(r, Number(a3)));
      s.resume();
      s.end(Buffer.alloc(Number(a2), 120));
      await closed(s);
      break;
    }
    case 'hold': {
      const s = await connectOnce(Number(a1), Number(a2));
      s.on('error', () => {});
      console.log('connected');
      process.stdin.resume();
      await new Promise((r) => process.stdin.once('end', r));
      s.destroy();
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  console.log('done');
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
