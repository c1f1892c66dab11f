/** The message of anything thrown, for a log field or a status reason. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
