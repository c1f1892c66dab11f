import { z } from 'zod';
import { commonAccountShape, regexString } from './common.js';

/**
 * A value that goes into an IRC line as it is (USER, PASS, AUTHENTICATE, PRIVMSG NickServ, the cut
 * marker): NUL, CR or LF would end the line and start another command (RFC 1459 §2.3.1).
 */
const lineSafe = z
  .string()
  .regex(/^[^\0\r\n]*$/, 'must not contain NUL, CR or LF (they would end the IRC line)');

/** [irc.NAME] (issue 2 §2, §4). Defaults live here so the schema is the one source. */
export const ircAccountSchema = z
  .object({
    ...commonAccountShape,
    server: z.string().min(1),
    tls: z.boolean().default(false),
    tls_verify: z.boolean().default(true),
    nick: z.string().regex(/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/, 'not a valid IRC nick'),
    realname: lineSafe.default('kosmi-relay'),
    password: lineSafe.optional(),
    sasl_account: lineSafe.optional(),
    sasl_password: lineSafe.optional(),
    nickserv_password: lineSafe.optional(),
    ignore_nicks: z.array(regexString).default([]),
    ignore_messages: z.array(regexString).default([]),

    // Flood control (docs/irc.md): a token bucket in front of the socket. The defaults stay under
    // Solanum's (Libera.Chat) defaults: 5 lines of burst, then 2 lines/s, "Excess Flood" past 20
    // unprocessed lines (ircd/packet.c); and under ngircd's penalty throttle (about 3 short
    // lines/s, src/ngircd/conn.c Read_Request), so lines never pile up server-side.
    /** Lines that may go out at once after an idle period. */
    flood_burst: z.number().int().positive().default(4),
    /** Sustained lines per second; 0 turns flood control off (only for servers that allow it). */
    flood_rate: z.number().nonnegative().default(1.5),

    // Splitting (docs/irc.md).
    /** Most lines one relayed message may become (after splitting); the rest is cut. */
    max_lines_per_message: z.number().int().positive().default(8),
    /** Appended to the last line when a message was cut. */
    cut_marker: lineSafe.pipe(z.string().max(40)).default(' [...]'),
    /**
     * Bytes of a whole line as the server relays it (":nick!user@host PRIVMSG #chan :text\r\n").
     * 512 is RFC 1459 §2.3; lower it for a network that truncates earlier.
     */
    max_line_bytes: z.number().int().min(128).max(512).default(512),

    // Connection supervision (docs/irc.md).
    /** Send a PING after this long without a line from the server. */
    ping_interval_seconds: z.number().positive().default(60),
    /** Give the connection up as dead after this long without a line from the server. */
    ping_timeout_seconds: z.number().positive().default(150),
    /** TCP + TLS + registration + authentication must be done within this time. */
    connect_timeout_seconds: z.number().positive().default(30),
    /** Wait before rejoining a channel after a kick. */
    rejoin_delay_seconds: z.number().nonnegative().default(5),
    /** How often to try to regain the configured nick when it was taken (when the server lacks MONITOR). */
    nick_regain_seconds: z.number().positive().default(30),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.sasl_account === undefined) !== (value.sasl_password === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [value.sasl_account === undefined ? 'sasl_account' : 'sasl_password'],
        message: 'sasl_account and sasl_password go together',
      });
    }
    if (value.ping_timeout_seconds <= value.ping_interval_seconds) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['ping_timeout_seconds'],
        message: 'must be longer than ping_interval_seconds',
      });
    }
  });

export type IrcAccountConfig = z.infer<typeof ircAccountSchema>;
