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

/** The notes this VU's user has and has not deleted: its whole list, as far as it knows. */
const mine = new Set<number>();

export function journey(): void {
  const me = session();
  if (!me) return;
  // Every user starts on the same beat: --users requests in flight at once.
  const onBeat = waitForBeat();

  let res = api('POST', '/api/notes', { name: 'notes_create', as: me, body: { title: `${me.label} ${Date.now()}`, body: 'written under load' } });
  if (!expectStatus(res, 201, 'create note')) return;
  const note = json<{ note: Note }>(res)!.note;
  mine.add(note.id);
  resourcesCreated.add(1, { kind: 'note' });

  res = api('GET', '/api/notes', { name: 'notes_list', as: me });
  if (expectStatus(res, 200, 'list notes')) {
    const ids = (json<{ notes: Note[] }>(res)?.notes ?? []).map((n) => n.id);
    // Only mine: a note this user did not write is another user's data.
    dataIsolation.add(ids.every((id) => mine.has(id)) ? 1 : 0);
    expectThat(ids.indexOf(note.id) >= 0, 'the list holds the new note');
  }

  res = api('GET', `/api/notes/${note.id}`, { name: 'notes_get', as: me });
  expectStatus(res, 200, 'read note');

  // Every other note is deleted again, so lists stay short and deletes are reconciled too.
  if (note.id % 2 === 0) {
    res = api('DELETE', `/api/notes/${note.id}`, { name: 'notes_delete', as: me });
    if (expectStatus(res, 204, 'delete note')) {
      mine.delete(note.id);
      resourcesDeleted.add(1, { kind: 'note' });
    }
  }
  if (!onBeat) sleep(0.2);
}
