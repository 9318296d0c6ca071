// Summaries, both ways the service streams them: server-sent events over HTTP, and the
// WebSocket /live protocol (config `agent`), judged as perf's k6 load judges it.
import { expect, flow } from 'perf-harness';

/** Creates a note as the client's user; its integer id. */
async function newNote(api: { post(path: string, body?: unknown): Promise<{ status: number; json: any }> }, title: string): Promise<number> {
  const res = await api.post('/api/notes', { title, body: 'a body to summarise' });
  expect(res).toHaveStatus(201);
  return res.json.note.id as number;
}

flow('summary_stream', { description: 'GET /api/notes/:id/summary/stream: three chunk events, then done' }, async ({ api, users, step }) => {
  const me = await users.create('sse');
  const noteId = await step('create a note', () => newNote(api.as(me), 'Stream me'));
  const { response, events } = await step('read the stream', () => api.as(me).stream(`/api/notes/${noteId}/summary/stream`));
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toContain('text/event-stream');
  expect(events.map((e) => e.event)).toEqual(['chunk', 'chunk', 'chunk', 'done']);
  expect(JSON.parse(events[3]!.data)).toEqual({ noteId, chunks: 3 });
});

flow('agent_summary', { tags: ['ws'], description: 'a /live summary run: begin, chunks, end, every frame owned by me' }, async ({ api, users, agent, step, measure }) => {
  const me = await users.create('live');
  const noteId = await step('create a note', () => newNote(api.as(me), 'Summarise me'));
  const run = await step('summarize over /live', () => agent.run(me, { vars: { noteId } }));
  measure('events', run.events.length);
  if (run.timeToFirstEventMs !== undefined) measure('time_to_first_event_ms', run.timeToFirstEventMs);
  await step('every event is mine', () => {
    expect(run.foreign).toBe(0);
  });
  await step('begin, chunks, end', () => {
    expect(run.problems).toEqual([]);
    expect(run.counts['summary.chunk']).toBeGreaterThanOrEqual(1);
  });
});

flow('agent_foreign_note', { tags: ['ws'], description: "a summary of another user's note is refused with not_found" }, async ({ api, users, agent, step }) => {
  const [owner, other] = await Promise.all([users.create('live-owner'), users.create('live-other')]);
  const noteId = await step('owner creates a note', () => newNote(api.as(owner), 'Not yours'));
  const run = await step("other asks for owner's note", () => agent.run(other, { vars: { noteId } }));
  expect(run.ok).toBe(false);
  expect(run.events).toEqual(['not_found']);
});

flow('ws_refuses_without_key', { tags: ['ws'], description: '/live refuses a handshake without a key, or with a bad one (403)' }, async ({ ws, step }) => {
  const anonymous = await step('no key', () => ws.tryConnect({ path: '/live', protocols: ['notes.v1'] }));
  expect(anonymous.ok).toBe(false);
  if (!anonymous.ok) expect(anonymous.status).toBe(403);
  const bogus = await step('a bad key', () => ws.tryConnect({ path: '/live', protocols: ['notes.v1', 'key.nk_perf-not-a-key'] }));
  expect(bogus.ok).toBe(false);
  if (!bogus.ok) expect(bogus.status).toBe(403);
});
