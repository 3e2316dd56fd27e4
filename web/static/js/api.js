// The JSON API client (docs/dashboard-api.md §4): the page token from the meta tag,
// fetch helpers that send X-Pixie-Token and JSON, and ApiError carrying
// the API's own message (and, for a 400 on run, its `fields`).

const meta = document.querySelector('meta[name="pixie-token"]');

// The per-launch anti-forgery token the server wrote into the page.
export const token = meta ? meta.getAttribute("content") || "" : "";

// An API failure: status, the API's `error` message and the whole body.
export class ApiError extends Error {
  constructor(status, body, fallback) {
    const msg = body && typeof body.error === "string" ? body.error : fallback;
    super(msg || `request failed (HTTP ${status})`);
    this.name = "ApiError";
    this.status = status;
    this.body = body || {};
    this.fields = (body && body.fields) || {};
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  }
}

// request(method, url, body?) -> parsed JSON | null (204 / empty body).
// Throws ApiError on any non-2xx answer or a network failure.
export async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET" && method !== "HEAD") {
    headers["Content-Type"] = "application/json";
    headers["X-Pixie-Token"] = token;
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, null, "the Pixie server cannot be reached (is `pixie serve` still running?)");
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data, `${res.status} ${res.statusText}`.trim());
  if (data === null && text && res.status !== 204) {
    throw new ApiError(res.status, null, "the server answered something that is not JSON");
  }
  return data;
}

export const get = (url) => request("GET", url);
export const post = (url, body) => request("POST", url, body === undefined ? {} : body);
export const del = (url) => request("DELETE", url);

// URL pieces, each segment encoded.
export function api(...parts) {
  return "/api/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}

// The tool id of a /tool/<id>[/...] page, or null.
export function toolIdFromPath(pathname = location.pathname) {
  const m = /^\/tool\/([A-Za-z0-9._-]{1,128})(?:\/|$)/.exec(pathname);
  return m ? m[1] : null;
}
