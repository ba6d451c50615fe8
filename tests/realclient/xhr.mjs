// XMLHttpRequest for Node, as much of it as xlwings' client uses (utils.js's xhrRequest):
// open, setRequestHeader, timeout, send, getResponseHeader, status, statusText,
// responseText, and the onload / onerror / ontimeout / onabort handlers.
import http from "node:http";
import https from "node:https";

export class XMLHttpRequest {
  constructor() {
    this.headers = {};
    this.timeout = 0;
    this.status = 0;
    this.statusText = "";
    this.responseText = "";
    this._responseHeaders = {};
  }

  open(method, url) {
    this.method = method;
    this.url = new URL(url);
  }

  setRequestHeader(name, value) {
    this.headers[name] = value;
  }

  getResponseHeader(name) {
    return this._responseHeaders[name.toLowerCase()] ?? null;
  }

  send(body) {
    let settled = false;
    const once = (handler) => () => {
      if (!settled) {
        settled = true;
        handler?.();
      }
    };
    const transport = this.url.protocol === "https:" ? https : http;
    const request = transport.request(
      this.url,
      { method: this.method, headers: this.headers, rejectUnauthorized: false },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          this.status = response.statusCode;
          this.statusText = response.statusMessage;
          this._responseHeaders = response.headers;
          this.responseText = Buffer.concat(chunks).toString("utf8");
          once(this.onload)();
        });
      },
    );
    if (this.timeout) {
      request.setTimeout(this.timeout, () => {
        once(this.ontimeout)();
        request.destroy();
      });
    }
    request.on("error", () => once(this.onerror)());
    if (body != null) request.write(body);
    request.end();
  }

  abort() {
    this.onabort?.();
  }
}
