/** The first non-empty line of an error's message, for one-line reports (Prisma's start with a newline). */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim().length > 0)?.trim() ?? (error instanceof Error ? error.name : 'unknown error');
}
