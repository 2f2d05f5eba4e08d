// A search's event stream: Server-Sent Events read with fetch, so the API key can travel in the
// Authorization header (EventSource cannot send headers). Reconnects resume after the last seq.
import { ApiError, askForKey, authHeaders } from "./api.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export async function follow(searchId, onEvent) {
  const cursor = { after: 0, finished: false };
  const deliver = (event) => {
    cursor.after = event.seq;
    cursor.finished ||= event.type === "status" && TERMINAL.has(event.data.state);
    onEvent(event);
  };
  while (!cursor.finished) {
    try {
      await streamOnce(searchId, cursor.after, deliver);
    } catch (error) {
      if (error.status === 401) await askForKey(error.body?.detail);
      else if (error.status === 404) throw error;
      else console.warn("event stream interrupted; reconnecting", error);
    }
    if (!cursor.finished) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function streamOnce(searchId, after, deliver) {
  const url = `/searches/${encodeURIComponent(searchId)}/events?after=${after}`;
  const response = await fetch(url, { headers: authHeaders({ accept: "text/event-stream" }) });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = blocks.pop();
    for (const block of blocks) {
      const event = parseBlock(block);
      if (event) deliver(event);
    }
  }
}

// One SSE message: its data lines hold the event as JSON ({seq, type, data, created_at}).
function parseBlock(block) {
  const data = block
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""));
  return data.length ? JSON.parse(data.join("\n")) : null;
}
