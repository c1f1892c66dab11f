/**
 * Narrow guards for Matrix JSON (events, sync responses): untrusted input is checked where it is
 * read, with these and nothing else (house style: "Untrusted input is parsed at the edge").
 */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object-valued entries of an object (e.g. the rooms of a sync section). */
export const objectValues = (value: unknown): [string, Json][] =>
  isObject(value) ? Object.entries(value).filter((entry): entry is [string, Json] => isObject(entry[1])) : [];

/** The `events` array of a sync section, or none. */
export const eventsOf = (section: unknown): unknown[] =>
  isObject(section) && Array.isArray(section.events) ? section.events : [];
