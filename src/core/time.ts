/** Durations the relay counts in days (token renewal, message map retention). */
export const DAY_MS = 86_400_000;
