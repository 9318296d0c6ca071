// Notes: create → read → list → delete, with the service's integer ids, checked in PostgreSQL.
import { expect, flow } from 'perf-harness';

interface Note {
  id: number;
  title: string;
  body: string;
  createdAt: string;
}

flow('notes_crud', { description: 'a note round-trips with an integer id; bad input is 400, unknown ids 404' }, async ({ api, users, db, step }) => {
  const me = await users.create('crud');
  const as = api.as(me);

  const note = await step('create', async () => {
    const res = await as.post<{ note: Note }>('/api/notes', { title: 'Groceries', body: 'milk, bread' });
    expect(res).toHaveStatus(201);
    expect(Number.isInteger(res.json.note.id)).toBe(true);
    expect(res.json.note).toMatchObject({ title: 'Groceries', body: 'milk, bread' });
    return res.json.note;
  });

  await step('the row is in the table, owned by me', async () => {
    expect(await db.count('notes', { id: note.id })).toBe(1);
    const row = await db.one<{ owner: string }>('SELECT owner::text FROM notes WHERE id = $1', [note.id]);
    expect(row?.owner).toBe(me.id);
  });

  await step('read', async () => {
    const res = await as.get<{ note: Note }>(`/api/notes/${note.id}`);
    expect(res).toHaveStatus(200);
    expect(res.json.note).toEqual(note);
  });

  await step('list', async () => {
    const res = await as.get<{ notes: Note[] }>('/api/notes');
    expect(res).toHaveStatus(200);
    expect(res.json.notes.map((n) => n.id)).toEqual([note.id]);
  });

  await step('bad input is 400', async () => {
    expect(await as.post('/api/notes', { title: '   ' })).toHaveStatus(400);
    expect((await as.post('/api/notes', {})).json).toEqual({ message: 'invalid', fields: ['title'] });
    expect(await as.get('/api/notes/not-a-number')).toHaveStatus(400);
  });

  await step('an unknown id is 404', async () => {
    // The smoke phase cannot probe this (it sends a UUID); an integer no note has:
    const res = await as.get(`/api/notes/${note.id + 1_000_000}`);
    expect(res).toHaveStatus(404);
    expect(res.json).toEqual({ message: 'no such note' });
  });

  await step('delete', async () => {
    expect(await as.delete(`/api/notes/${note.id}`)).toHaveStatus(204);
    expect(await as.get(`/api/notes/${note.id}`)).toHaveStatus(404);
    expect(await db.count('notes', { id: note.id })).toBe(0);
  });
});

flow('notes_isolation', { description: "another user's note is 404 to me, and my list holds only my notes" }, async ({ api, users, step }) => {
  const [alice, bob] = await Promise.all([users.create('alice'), users.create('bob')]);
  const create = async (user: typeof alice, title: string) => {
    const res = await api.as(user).post<{ note: Note }>('/api/notes', { title });
    expect(res).toHaveStatus(201);
    return res.json.note.id;
  };
  const aliceNote = await step('alice writes a note', () => create(alice, 'alice private'));
  const bobNote = await step('bob writes a note', () => create(bob, 'bob private'));

  await step("bob cannot read alice's note", async () => {
    const res = await api.as(bob).get(`/api/notes/${aliceNote}`);
    expect(res).toHaveStatus(404);
  });
  await step("bob cannot delete alice's note", async () => {
    expect(await api.as(bob).delete(`/api/notes/${aliceNote}`)).toHaveStatus(404);
  });

  await step("bob's list holds only bob's notes", async () => {
    const res = await api.as(bob).get<{ notes: Note[] }>('/api/notes');
    expect(res).toHaveStatus(200);
    expect(res.json.notes.map((n) => n.id)).toEqual([bobNote]);
  });
  await step("alice's list holds only alice's notes", async () => {
    const res = await api.as(alice).get<{ notes: Note[] }>('/api/notes');
    expect(res.json.notes.map((n) => n.id)).toEqual([aliceNote]);
  });
});
