// summaries: --users users at once, each asking /live for summaries of its own note, the
// protocol declared once in perf.config.ts (`agent`) and judged by runAgent() exactly as the
// agent_summary flow judges it. Gates: ws_event_order (fault wsDropEnd) and ws_event_ownership
// (fault wsWrongOwner).
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { agentProtocol, api, expectStatus, json, resourcesCreated, runAgent, session, userJourneyScenario } from 'perf-harness/k6';

export const options: Options = {
  scenarios: { summaries: userJourneyScenario('summaries') },
};

/** This VU's note to summarise (made on its first iteration). */
let noteId: number | undefined;

export function summaries(): void {
  const me = session();
  if (!me) return;
  if (noteId === undefined) {
    const res = api('POST', '/api/notes', { name: 'notes_create', as: me, body: { title: `${me.username}: to summarise` } });
    if (!expectStatus(res, 201, 'create note')) return;
    noteId = json<{ note: { id: number } }>(res)!.note.id;
    resourcesCreated.add(1, { kind: 'note' });
  }
  // Connects with the key as subprotocol, sends {"op":"summarize","noteId":N}, collects frames
  // to summary.end and records ws_event_order, ws_event_ownership, ws_time_to_first_event.
  runAgent(agentProtocol(), me, { noteId });
  sleep(0.3);
}
