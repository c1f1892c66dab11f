/**
 * Peak RSS of the built daemon with one Matrix account (issue 9 §2): IRC (ngircd) <-> Matrix
 * (homeserver emulator) in one gateway, MESSAGES lines relayed (half each way, at RATE per second),
 * then /proc/<pid>/status VmHWM and VmRSS, and a heap snapshot (SIGUSR2, written into the daemon's
 * dir) that bench/heap-by-module.ts summarizes.
 *
 *   npm run build && node --import tsx bench/matrix-memory.ts [--snapshot OUT.heapsnapshot] [--no-matrix] [--kosmi]
 *
 * --no-matrix: IRC only (two channels of one account); --kosmi: a Kosmi room (emulator) in the gateway too.
 */
import { copyFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, startDaemon } from '../test/helpers/daemon.js';
import { connectIrcClient } from '../test/helpers/irc-client.js';
import { startKosmiEmulator } from '../test/helpers/kosmi-emulator/index.js';
import { startHomeserver } from '../test/helpers/matrix-homeserver/index.js';
import { startNgircd } from '../test/helpers/ngircd.js';
import { uniqueName } from '../test/helpers/ports.js';
import { waitFor } from '../test/helpers/wait-for.js';

const MESSAGES = 500;
const RATE_PER_SECOND = 50;
const PASSWORD = 'memory-matrix-password';

const args = process.argv.slice(2);
const snapshotOut = args.includes('--snapshot') ? args[args.indexOf('--snapshot') + 1] : undefined;
const withMatrix = !args.includes('--no-matrix');
const withKosmi = args.includes('--kosmi');

async function status(pid: number): Promise<{ hwm: number; rss: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

const kosmiRoom = `@${uniqueName('mem')}`;
const [ngircd, hs, kosmi] = await Promise.all([
  startNgircd(),
  startHomeserver(),
  withKosmi ? startKosmiEmulator({ rooms: [kosmiRoom] }) : undefined,
]);
const channel = `#${uniqueName('mem')}`;
const channel2 = `#${uniqueName('mem')}`;
const alias = `#${uniqueName('mem')}:localhost`;
const ircRelay = uniqueName('relay');
const relayId = hs.registerUser(uniqueName('mrelay'), PASSWORD, 'Relay');
const carol = hs.registerUser(uniqueName('carol'), 'pw', 'Carol');
hs.createRoom({ creator: carol, alias });
const human = await connectIrcClient({
  port: ngircd.port,
  nick: uniqueName('human'),
  channels: [channel, channel2],
});
const other = withMatrix
  ? `[matrix.home]
homeserver = "${hs.url}"
user_id = "${relayId}"
password = "\${MATRIX_PASSWORD}"
sync_timeout_seconds = 5
`
  : '';
const kosmiAccount =
  kosmi === undefined
    ? ''
    : `[kosmi.main]
web_url = "${kosmi.webUrl}"
api_url = "${kosmi.apiUrl}"
ws_url = "${kosmi.wsUrl}"
send_rate_per_second = 200
send_burst = 200
`;
const kosmiInout =
  kosmi === undefined
    ? ''
    : `  [[gateway.inout]]
  account = "kosmi.main"
  channel = "${kosmiRoom}"
`;
const daemon = startDaemon({
  env: {
    LOG_LEVEL: 'info',
    MATRIX_PASSWORD: PASSWORD,
    NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2',
  },
  config: `[general]
data_dir = "./data"
[irc.net]
server = "127.0.0.1:${ngircd.port}"
nick = "${ircRelay}"
flood_rate = 0
${other}
${kosmiAccount}
[[gateway]]
name = "mem"
  [[gateway.inout]]
  account = "irc.net"
  channel = "${channel}"
  [[gateway.inout]]
  account = "${withMatrix ? 'matrix.home' : 'irc.net'}"
  channel = "${withMatrix ? alias : channel2}"
${kosmiInout}`,
});
const pid = daemon.process.pid as number;
try {
  const fromRelay = (): string[] => human.messages.filter((m) => m.nick === ircRelay).map((m) => m.text);
  const intoMatrix = (): string[] =>
    withMatrix
      ? hs.messagesFrom(relayId, alias).map((c) => String(c.body))
      : human.messages.filter((m) => m.nick === ircRelay && m.target === channel2).map((m) => m.text);
  // Started: the first probe crosses.
  await waitFor(
    async () => {
      await human.say(channel, 'probe');
      return intoMatrix().some((b) => b.includes('probe')) || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'the first relayed line' },
  );
  const startup = await status(pid);
  const run = uniqueName('m');
  const half = MESSAGES / 2;
  for (let i = 0; i < half; i++) {
    await human.say(channel, `${run} irc ${i}`);
    if (withMatrix) hs.text(carol, alias, `${run} mx ${i}`);
    else await human.say(channel2, `${run} mx ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 2000 / RATE_PER_SECOND));
  }
  await waitFor(
    () =>
      (intoMatrix().filter((b) => b.includes(`${run} irc `)).length >= half &&
        fromRelay().filter((t) => t.includes(`${run} mx `)).length >= half) ||
      undefined,
    { timeoutMs: 120_000, what: `all ${MESSAGES} messages relayed` },
  );
  const after = await status(pid);
  let snapshot: string | undefined;
  if (snapshotOut !== undefined) {
    daemon.process.kill('SIGUSR2');
    snapshot = await waitFor(() => readdirSync(daemon.dir).find((f) => f.endsWith('.heapsnapshot')), {
      timeoutMs: 120_000,
      what: 'the heap snapshot',
    });
    // The file is complete once it ends the JSON document and its size stops changing.
    const file = path.join(daemon.dir, snapshot);
    let lastSize = -1;
    await waitFor(
      () => {
        const size = statSync(file).size;
        const done = size === lastSize && readFileSync(file, 'utf8').trimEnd().endsWith('}');
        lastSize = size;
        return done || undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2_000, what: 'the complete heap snapshot' },
    );
    copyFileSync(file, snapshotOut);
  }
  process.stdout.write(
    `${JSON.stringify({
      matrix: withMatrix,
      kosmi: withKosmi,
      messages: MESSAGES,
      startupHwmMiB: +startup.hwm.toFixed(1),
      peakHwmMiB: +after.hwm.toFixed(1),
      rssAfterMiB: +after.rss.toFixed(1),
      snapshot: snapshotOut,
    })}\n`,
  );
} finally {
  await daemon.stop('SIGTERM');
  await human.quit();
  await Promise.all([ngircd.stop(), hs.close(), kosmi?.close()]);
  removeDir(daemon.dir);
}
