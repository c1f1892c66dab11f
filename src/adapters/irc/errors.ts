/**
 * The one place that decides whether an IRC failure is retried normally or treated as fatal
 * (retried slowly, state `failed`). matrix-appservice-irc's ConnectionInstance does the same for
 * bans and refused connections: reconnecting at full speed to a server that banned us only
 * prolongs the ban.
 */
export interface CloseOutcome {
  /** Human-readable and free of secrets. */
  readonly reason: string;
  readonly fatal: boolean;
  /**
   * How the TCP connection ended, for the replay of unconfirmed lines (confirmations.ts):
   * `clean` when the server closed it with FIN and no error. A server that closes with bytes of
   * ours still unread sends RST instead (RFC 1122 §4.2.2.13), so after a clean close every line
   * we wrote had been read. `errorAt` when the server announced the close with ERROR (ms, the
   * performance.now() clock): a server going down may read lines it never relays.
   */
  readonly clean?: boolean;
  readonly errorAt?: number;
}

/** ERROR :Closing Link texts that mean "do not come back soon" (ircd-ratbox/Solanum, InspIRCd, ngircd wordings). */
const FATAL_ERROR_TEXT = /\b[KGZD]-?lined\b|\bbanned\b|\bnot welcome\b|\bBad Password\b|\bAccess denied\b/i;

export function classifyServerError(text: string): CloseOutcome {
  return { reason: `server closed the link: ${text}`, fatal: FATAL_ERROR_TEXT.test(text) };
}

/** Numerics that end the registration for good (RFC 2812 §5.2). */
export function classifyNumeric(command: string, text: string): CloseOutcome | undefined {
  switch (command) {
    case '463': // ERR_NOPERMFORHOST
      return { reason: `server refuses connections from this host (463: ${text})`, fatal: true };
    case '464': // ERR_PASSWDMISMATCH
      return { reason: `server password rejected (464: ${text})`, fatal: true };
    case '465': // ERR_YOUREBANNEDCREEP
      return { reason: `banned from this server (465: ${text})`, fatal: true };
    default:
      return undefined;
  }
}

/** irc-framework's 'sasl failed' reasons (src/commands/handlers/registration.js). */
export function classifySaslFailure(
  account: string,
  reason: string,
  message: string | undefined,
): CloseOutcome {
  const detail = message === undefined || message === '' ? '' : `: ${message}`;
  switch (reason) {
    case 'fail':
      return { reason: `SASL PLAIN login as "${account}" rejected (904${detail})`, fatal: true };
    case 'capability_missing':
      return {
        reason: 'SASL is configured but the server does not offer it (no "sasl" capability)',
        fatal: true,
      };
    case 'unsupported_mechanism':
      return { reason: 'SASL is configured but the server does not accept the PLAIN mechanism', fatal: true };
    case 'nick_locked':
      return {
        reason: `SASL login as "${account}" refused: the account is locked (902${detail})`,
        fatal: true,
      };
    default:
      return { reason: `SASL login as "${account}" failed (${reason}${detail})`, fatal: true };
  }
}

/** NickServ notices (Atheme, Anope) after IDENTIFY. */
export function classifyNickServReply(text: string): 'ok' | 'rejected' | undefined {
  if (/you are now (identified|logged in)|password accepted/i.test(text)) return 'ok';
  if (
    /invalid password|incorrect password|password incorrect|not a registered|isn't registered|is not registered|authentication failed/i.test(
      text,
    )
  ) {
    return 'rejected';
  }
  return undefined;
}
