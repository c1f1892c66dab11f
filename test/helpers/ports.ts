import net from 'node:net';

/** A free TCP port on 127.0.0.1, chosen by the kernel; tests never share a fixed port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

let counter = 0;
/** A short unique name for nicks, channels and rooms: prefix + pid + counter (IRC nicks max 30). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${(process.pid % 10000).toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}
