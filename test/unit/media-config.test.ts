import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

/** general.public_url and general.media_max_mb (docs/media.md): defaults, normalization, errors. */

function load(general: string): ReturnType<typeof parseConfig> {
  return parseConfig(`[general]\n${general}\n`, { env: {}, cwd: '/tmp' });
}

function problemsOf(general: string): string[] {
  try {
    load(general);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('media config', () => {
  it('has no public_url and a 100 MB cap by default', () => {
    const config = load('');
    expect(config.general.public_url).toBeUndefined();
    expect(config.general.media_max_mb).toBe(100);
  });

  it('keeps an http(s) URL, with or without a path, without its trailing slashes', () => {
    const listen = 'http_listen = "127.0.0.1:9090"';
    expect(load(`${listen}\npublic_url = "https://relay.example.org/"`).general.public_url).toBe(
      'https://relay.example.org',
    );
    expect(load(`${listen}\npublic_url = "http://example.org:8080/relay//"`).general.public_url).toBe(
      'http://example.org:8080/relay',
    );
    expect(load(`${listen}\nmedia_max_mb = 0.5`).general.media_max_mb).toBe(0.5);
  });

  it('names general.public_url in every error about it', () => {
    const listen = 'http_listen = "127.0.0.1:9090"';
    expect(problemsOf(`${listen}\npublic_url = "relay.example.org"`)).toEqual([
      'general.public_url: must be an absolute URL, e.g. "https://relay.example.org"',
    ]);
    expect(problemsOf(`${listen}\npublic_url = "ftp://relay.example.org"`)).toEqual([
      'general.public_url: must be an http:// or https:// URL',
    ]);
    expect(problemsOf(`${listen}\npublic_url = "https://relay.example.org/?a=1"`)).toEqual([
      'general.public_url: must not have a query ("?...")',
    ]);
    expect(problemsOf(`${listen}\npublic_url = "https://relay.example.org/#top"`)).toEqual([
      'general.public_url: must not have a fragment ("#...")',
    ]);
    expect(problemsOf(`${listen}\npublic_url = "https://u:p@relay.example.org"`)).toEqual([
      'general.public_url: must not contain a user name or password',
    ]);
    expect(problemsOf(`${listen}\npublic_url = 5`)).toEqual([
      'general.public_url: expected string, got number',
    ]);
  });

  it('needs http_listen for public_url: the links would point at nothing', () => {
    expect(problemsOf('public_url = "https://relay.example.org"')).toEqual([
      'general.public_url: needs general.http_listen, the listener that serves /media/',
    ]);
  });

  it('wants a positive media_max_mb', () => {
    expect(problemsOf('media_max_mb = 0')).toEqual(['general.media_max_mb: Number must be greater than 0']);
    expect(problemsOf('media_max_mb = "big"')).toEqual(['general.media_max_mb: expected number, got string']);
  });
});
