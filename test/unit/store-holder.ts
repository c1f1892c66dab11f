/**
 * A child process that holds a RelayStore for test/unit/store-process.test.ts, driven over
 * stdin/stdout one line at a time: it prints "ready" once the store is open, then answers each
 * command with one JSON line. Durability changes are printed as {"durable": bool} lines.
 * Usage: node --import tsx test/unit/store-holder.ts <dataDir>
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import { RelayStore } from '../../src/store/index.js';

// With a file size limit set on this process (RLIMIT_FSIZE), a write past it raises SIGXFSZ, whose
// default action kills the process; handled, the write fails with EFBIG, as on a full disk.
process.on('SIGXFSZ', () => undefined);

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: store-holder.ts <dataDir>');
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const store = RelayStore.open({
  dataDir,
  logger: pino({ level: 'silent' }),
  retryIntervalMs: 3_600_000,
  onDurableChange: (durable) => print({ durable }),
});
store.addPieces([
  { id: 'held.0', messageId: 'held', account: 'a', channel: 'c', enqueuedAt: 1, payload: '{}' },
]);
process.stdout.write('ready\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg = ''] = line.split(' ');
  switch (command) {
    case 'add':
      store.addPieces([
        { id: arg, messageId: arg, account: 'a', channel: 'c', enqueuedAt: 2, payload: 'x'.repeat(4_000) },
      ]);
      return print({ ok: true, durable: store.durable });
    case 'retry':
      return print({ ok: true, durable: store.retryNow() });
    case 'pending':
      return print({ ok: true, ids: store.pendingPieces().map((p) => p.id) });
    case 'warn':
      process.emitWarning('a warning that must still be printed', 'TestWarning');
      return print({ ok: true });
    case 'close':
      store.close();
      print({ ok: true });
      return process.exit(0);
    default:
      return print({ ok: false, unknown: command });
  }
});
