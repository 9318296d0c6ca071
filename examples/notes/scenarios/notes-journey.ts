// notes-journey: --users users at once, each signed in as itself (perf's `auth`, through
// session()), writing, listing and reading its notes. Every list must hold only the caller's own
// notes (data_isolation, gated at 100 %: fault crossUserLeak); the list's latency is gated
// (notes_list p95: fault slowListMs); every note created or deleted is counted for the
// after-load reconciliation with PostgreSQL (database.reconcile).
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { api, dataIsolation, expectStatus, expectThat, json, resourcesCreated, resourcesDeleted, session, userJourneyScenario, waitForBeat } from 'perf-harness/k6';

export const options: Options = {
  scenarios: { journey: userJourneyScenario('journey') },
};

interface Note {
  id: number;
  title: string;
}

export function journey(): void {
  const me = session();
  if (!me) return;
  // Every user starts on the same beat: --users requests in flight at once.
  const onBeat = waitForBeat();

  let res = api('POST', '/api/notes', { name: 'notes_create', as: me, body: { title: `${me.username}: ${Date.now()}`, body: 'written under load' } });
  if (!expectStatus(res, 201, 'create note')) return;
  const note = json<{ note: Note }>(res)!.note;
  resourcesCreated.add(1, { kind: 'note' });

  res = api('GET', '/api/notes', { name: 'notes_list', as: me });
  if (expectStatus(res, 200, 'list notes')) {
    const notes = json<{ notes: Note[] }>(res)?.notes ?? [];
    // Only mine: every note this user writes (here and in summaries.ts) starts with its
    // username; any other is another user's data.
    dataIsolation.add(notes.every((n) => n.title.startsWith(`${me.username}:`)) ? 1 : 0);
    expectThat(notes.some((n) => n.id === note.id), 'the list holds the new note');
  }

  res = api('GET', `/api/notes/${note.id}`, { name: 'notes_get', as: me });
  expectStatus(res, 200, 'read note');

  // Every other note is deleted again, so lists stay short and deletes are reconciled too.
  if (note.id % 2 === 0) {
    res = api('DELETE', `/api/notes/${note.id}`, { name: 'notes_delete', as: me });
    if (expectStatus(res, 204, 'delete note')) resourcesDeleted.add(1, { kind: 'note' });
  }
  if (!onBeat) sleep(0.2);
}
