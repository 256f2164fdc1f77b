/**
 * The HTTP side of an OpenAI-compatible server: JSON requests with a timeout, retries with backoff on 429 and
 * 5xx (and on a refused or reset connection, which a restarting server gives), a bounded number of requests
 * in flight, and cancellation that aborts the requests in flight. Node's own `fetch` (undici): no dependency.
 */

export interface EndpointClientOptions {
  /** The OpenAI-compatible base, e.g. `http://127.0.0.1:8080/v1`; the server root is this without `/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when given. Never logged, never part of an error message. */
  apiKey?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** One request's time limit in milliseconds (default 120 000: a long generation on a busy server). */
  timeoutMs?: number;
  /** Attempts after the first on 429, 5xx or a failed connection (default 4). */
  retries?: number;
  /** The first backoff in milliseconds, doubled per attempt (default 500; tests pass less). */
  backoffMs?: number;
}

/** A request that failed for good: the message says which request and why, in one line. */
export class EndpointError extends Error {
  override name = 'EndpointError';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** Waits for a free slot among `limit`; slots are handed over in arrival order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, not ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Under the server root rather than the base (`/tokenize`, `/props`, llama-server's `/completion`). */
  root?: boolean;
  /** False: one attempt only (probes, where a failure is an answer). */
  retry?: boolean;
  /** False: a refused or broken connection is not retried (at connect it means a wrong URL, not a busy server). */
  retryNetwork?: boolean;
}

export class EndpointClient {
  readonly baseUrl: string;
  /** The server's root (where llama-server and vLLM put /tokenize, /props, /health). */
  readonly rootUrl: string;
  readonly concurrency: number;
  private readonly limiter: Limiter;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly options: EndpointClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new EndpointError(`"${options.baseUrl}" is not a URL; give the server's OpenAI-compatible base, e.g. http://127.0.0.1:8080/v1`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EndpointError(`${options.baseUrl}: only http and https endpoints are supported`);
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.rootUrl = this.baseUrl.replace(/\/v1$/, '');
    this.concurrency = options.concurrency ?? 4;
    this.limiter = new Limiter(this.concurrency);
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
  }

  /** POST `body` as JSON to `path` under the base (`/completions`) or, with `root`, under the server root (`/tokenize`). */
  post<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, body, options);
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, options);
  }

  private url(path: string, root: boolean | undefined): string {
    return `${root ? this.rootUrl : this.baseUrl}${path}`;
  }

  private async request<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
    const url = this.url(path, options.root);
    const attempts = options.retry === false ? 1 : this.retries + 1;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      const outcome = await this.limiter.run(() => this.once(method, url, body, options.signal));
      if (outcome.ok) return outcome.value as T;
      if (!outcome.retryable || attempt >= attempts || (outcome.network && options.retryNetwork === false)) throw outcome.error;
      await sleep(this.backoffMs * 2 ** (attempt - 1), options.signal);
    }
  }

  private async once(method: string, url: string, body: unknown, signal: AbortSignal | undefined): Promise<{ ok: true; value: unknown } | { ok: false; retryable: boolean; network?: boolean; error: Error }> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : abortError();
      if (timeout.aborted) return { ok: false, retryable: false, error: new EndpointError(`${method} ${url}: no answer within ${this.timeoutMs / 1000} s`) };
      return { ok: false, retryable: true, network: true, error: new EndpointError(`${method} ${url}: cannot reach the server (${networkReason(error)})`) };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw abortError();
      return { ok: false, retryable: true, error: new EndpointError(`${method} ${url}: the connection broke during the answer (${networkReason(error)})`) };
    }
    if (!response.ok) {
      const retryable = response.status === 429 || response.status >= 500;
      return { ok: false, retryable, error: new EndpointError(`${method} ${url}: HTTP ${response.status} ${serverMessage(text)}`.trim(), response.status) };
    }
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      return { ok: false, retryable: false, error: new EndpointError(`${method} ${url}: the answer is not JSON (${text.slice(0, 80)})`) };
    }
  }
}

/** The server's own error message, from OpenAI's `{error: {message}}` or llama-server's and vLLM's shapes. */
function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message ?? parsed.message ?? parsed.detail;
    if (typeof message === 'string') return firstLine(message);
    if (message !== undefined) return firstLine(JSON.stringify(message));
  } catch { /* not JSON: the text itself */ }
  return firstLine(text);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code === 'ECONNREFUSED' ? 'connection refused: is the server running?' : cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return (error as Error).message ?? String(error);
}

function firstLine(text: string): string {
  const line = text.split('\n').find((part) => part.trim()) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function abortError(): Error {
  return new DOMException('The operation was aborted.', 'AbortError');
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
