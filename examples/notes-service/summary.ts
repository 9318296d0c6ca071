// The "summary" both streaming transports send (SSE and the WebSocket): three short,
// always non-empty texts derived from the note. Deterministic, so tests can compare them.
import type { Note } from './db.ts';

export const SUMMARY_CHUNKS = 3;

export function summaryChunks(note: Note): string[] {
  const words = note.body.split(/\s+/).filter(Boolean).length;
  return [`About "${note.title}"`, `${words} ${words === 1 ? 'word' : 'words'} in the body`, `Written ${note.createdAt}`];
}

/** Resolves after `ms`; used to pace chunks. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
