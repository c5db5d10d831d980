/** A small JSON client for the demo: it drives the product through its own public API. */
export class ApiCaller {
  constructor(private readonly baseUrl: string) {}

  async call<T = Record<string, unknown>>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const isForm = body instanceof FormData;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined || isForm ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** Like call, but a non-2xx answer is an error naming the route and the API's error code. */
  async expectOk<T = Record<string, unknown>>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const res = await this.call<T>(token, method, path, body, headers);
    if (res.status >= 300) {
      const err = res.body as { code?: string; message?: string };
      throw new Error(`${method} ${path} answered ${res.status} ${err.code ?? ''}: ${err.message ?? ''}`);
    }
    return res.body;
  }
}
