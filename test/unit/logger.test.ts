import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../src/log/logger.js';

describe('logger redaction', () => {
  it('never writes secrets at any level, top level or nested', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      destination: { write: (line: string) => lines.push(line) },
    });
    const secrets = [
      'hunter2-pass',
      'tok-abc123',
      'refresh-xyz',
      'sasl-pw-1',
      'ns-pw-2',
      'init-payload-token',
    ];
    logger.trace({ password: secrets[0], access_token: secrets[1] }, 'trace');
    logger.debug({ account: { refresh_token: secrets[2], sasl_password: secrets[3] } }, 'debug');
    logger.info({ config: { irc: { nickserv_password: secrets[4] } } }, 'info');
    logger.error({ frame: { type: 'connection_init', payload: { token: secrets[5] } } }, 'error');
    const output = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).toContain('[redacted]');
  });

  it('scrubs known secret values out of free text', () => {
    expect(scrubSecrets('GET /sync?access_token=abcdef failed', ['abcdef'])).toBe(
      'GET /sync?access_token=[redacted] failed',
    );
  });
});
