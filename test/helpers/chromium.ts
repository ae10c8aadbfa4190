/**
 * One headless Chromium for a test file, driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: requests on the browser's fd 3, answers and events on its fd 4,
 * each a JSON message ending in a NUL byte). Each page is a new tab, opened at a file:// URL and
 * closed after use, so a file's pages cost one browser start instead of one each. The browser
 * takes the flags its caller gives (window size, scrollbars) as a one-shot `chromium --dump-dom`
 * or `--screenshot` would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

interface Message {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export interface Tab {
  /** Evaluate `expression` in the page (a promise is awaited); its value, which must be JSON. */
  evaluate<T>(expression: string): Promise<T>;
  /** A DevTools protocol command in this tab's session. */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface Browser {
  /** Open `url` in a new tab, wait for its load event, hand the tab to `use`, close the tab. */
  withPage<T>(url: string, use: (tab: Tab) => Promise<T>): Promise<T>;
  /** End the browser and wait for it. */
  close(): Promise<void>;
}

export function launchChromium(path: string, flags: string[]): Browser {
  const child: ChildProcess = spawn(path, [...flags, '--remote-debugging-pipe', 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  let ids = 0;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(m: Message) => void>();
  let buffered = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const m = JSON.parse(buffered.slice(0, end)) as Message;
      buffered = buffered.slice(end + 1);
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(`${m.error.message}`));
        else p?.resolve(m.result ?? {});
      } else for (const l of listeners) l(m);
    }
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${path} ended (${code ?? signal}): ${stderr}`));
    pending.clear();
  });

  function send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = ++ids;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  return {
    async withPage(url, use) {
      const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
      try {
        const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
        const tab: Tab = {
          send: (method, params) => send(method, params, sessionId),
          async evaluate<T>(expression: string) {
            const r = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId)) as {
              result: { value: T };
              exceptionDetails?: { text: string; exception?: { description?: string } };
            };
            if (r.exceptionDetails) throw new Error(`${url}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
            return r.result.value;
          },
        };
        await tab.send('Page.enable');
        const loaded = new Promise<void>((resolve) => {
          const l = (m: Message) => {
            if (m.sessionId === sessionId && m.method === 'Page.loadEventFired') {
              listeners.delete(l);
              resolve();
            }
          };
          listeners.add(l);
        });
        await tab.send('Page.navigate', { url });
        await loaded;
        return await use(tab);
      } finally {
        await send('Target.closeTarget', { targetId });
      }
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        send('Browser.close').catch(() => {});
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(kill);
      }
    },
  };
}
