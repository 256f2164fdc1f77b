/**
 * The webview API VS Code injects. Absent in the standalone HTML export, where the report comes from the page.
 * acquireVsCodeApi may be called only once per page, so the handle is cached here.
 */

interface VsCodeApiHandle {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  function acquireVsCodeApi(): VsCodeApiHandle;
}

/** Typed by the messages this webview sends, so a mistyped message is a compile error. */
export interface WebviewApi<TOutgoing> {
  postMessage(message: TOutgoing): void;
  getState(): Record<string, unknown>;
  /** Merges into the existing state: the host keeps its own keys there (e.g. the report file). */
  mergeState(patch: Record<string, unknown>): void;
}

let handle: VsCodeApiHandle | null | undefined;

export function getWebviewApi<TOutgoing>(): WebviewApi<TOutgoing> | null {
  if (handle === undefined) handle = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
  const api = handle;
  if (!api) return null;
  const getState = (): Record<string, unknown> => {
    const state = api.getState();
    return typeof state === 'object' && state !== null ? { ...(state as Record<string, unknown>) } : {};
  };
  return {
    postMessage: (message) => api.postMessage(message),
    getState,
    mergeState: (patch) => api.setState({ ...getState(), ...patch }),
  };
}
