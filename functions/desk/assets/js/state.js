// Shared page state (no persistence here: drafts live in drafts.js).
export const state = {
  agent: null,
  admin: false,
  filters: { show: 'all', channel: 'all', status: 'open' },
  queue: [],
  nextCursor: null,
  extraPages: 0, // pages added with "Load more"
  queueLoadedAt: 0,
  selectedId: null,
  // { id, conv, messages (oldest first), nextCursor, loaded, fetchedLast, fetchedUpdated }
  open: null,
};
