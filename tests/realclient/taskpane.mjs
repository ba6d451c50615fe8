// Presses leadbook's task-pane buttons through xlwings' own task-pane client, as Excel does:
// the page is the one `leadbook serve` sends (/taskpane.html), its client the modules that page
// loads from the server (/static/js/custom-scripts/index.js and what it imports, with the
// server's auth.js), run in Node with excel.mjs's Office.js over a workbook held in memory and
// a small DOM of the page's buttons and alert boxes, and leadbook's own button script the page
// loads (/static/js/buttons.js). A press is the button's own click handler: leadbook's reads the
// workbook's formulas, then calls xlwings' runPython, which reads the workbook (getBookData),
// posts it with the formulas to the server and applies the actions it gets back (runActions).
//
//   LEADBOOK_SIGN_IN=TOKEN node taskpane.mjs BASE_URL < job.json > result.json
//
// job.json: {"workbook": {…excel.mjs's workbook…}, "press": ["rebalance", …]} (in order, on
// the same workbook). Result: {"buttons": [the script of each button, lb-click or xlwings'
// xw-click, in page order], "clickers": [each button's attribute, in page order],
// "presses": [{"script", "error": the task pane's error text or null, "workbook": the workbook
// after the press}], "requests": [{"method", "path", "headers", "body", "status"}], "workbook":
// the workbook before the presses, "missing": [what the client asked of Office.js or the page
// that the mocks lack]}.
import { register } from "node:module";
import vm from "node:vm";
import { installExcel, missing, strict } from "./excel.mjs";
import { XMLHttpRequest } from "./xhr.mjs";
import { stdin, text as fetchText } from "./io.mjs";

register(new URL("./loader.mjs", import.meta.url));
// stdout carries the result: the client's console goes to stderr.
for (const level of ["log", "info", "warn", "debug"]) {
  console[level] = (...args) => process.stderr.write(`${args.join(" ")}\n`);
}

const [base] = process.argv.slice(2);

const text = (path) => fetchText(base, path);

// --- the page: its buttons and alert boxes, as much DOM as the client uses --------------------

function element(tag, attributes = {}, path = tag) {
  const attrs = new Map(Object.entries(attributes));
  const classes = new Set((attrs.get("class") ?? "").split(/\s+/).filter(Boolean));
  const children = [];
  const listeners = {};
  const target = {
    tagName: tag.toUpperCase(),
    textContent: "",
    className: "",
    classList: strict(
      {
        add: (...names) => names.forEach((n) => classes.add(n)),
        remove: (...names) => names.forEach((n) => classes.delete(n)),
        contains: (name) => classes.has(name),
      },
      `${path}.classList`,
    ),
    getAttribute: (name) => attrs.get(name) ?? null,
    hasAttribute: (name) => attrs.has(name),
    setAttribute: (name, value) => attrs.set(name, String(value)),
    removeAttribute: (name) => attrs.delete(name),
    addEventListener: (type, listener) => (listeners[type] ??= []).push(listener),
    appendChild: (child) => children.push(child) && child,
    removeChild(child) {
      const at = children.indexOf(child);
      if (at < 0) throw new Error(`${path}.removeChild: not a child`);
      return children.splice(at, 1)[0];
    },
    querySelector(selector) {
      if (selector !== "span") throw new Error(`${path}.querySelector(${selector}): not mocked`);
      return children.find((c) => c.tagName === "SPAN") ?? null;
    },
    _classes: classes,
    _children: children,
    _listeners: listeners,
  };
  return strict(target, path);
}

function attributesOf(tag) {
  return Object.fromEntries(
    [...tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].slice(1).map(([, k, v]) => [k, v ?? ""]),
  );
}

// The attributes that make a button press a script: leadbook's and xlwings' own.
const CLICKERS = ["lb-click", "xw-click"];
const scriptOf = (attrs) => CLICKERS.map((c) => attrs[c]).find((s) => s !== undefined);
const buttonScript = (b) => CLICKERS.map((c) => b.getAttribute(c)).find((s) => s !== null);

function installPage(page) {
  const config = page.match(/<script id="config" type="application\/json">([\s\S]*?)<\/script>/);
  const byId = {};
  byId.config = element("script", { id: "config" }, "#config");
  byId.config.textContent = config[1];
  for (const id of ["global-error-alert", "global-status-alert"]) {
    const box = element("div", { id, class: "alert d-none" }, `#${id}`);
    box.appendChild(element("span", {}, `#${id} span`));
    byId[id] = box;
  }
  const buttons = [...page.matchAll(/<button\b[^>]*>/g)]
    .map(([tag]) => attributesOf(tag))
    .filter((attrs) => CLICKERS.some((clicker) => clicker in attrs))
    .map((attrs) => element("button", attrs, `button[${scriptOf(attrs)}]`));
  const own = [...page.matchAll(/<script type="module" src="([^"]*\/static\/js\/buttons\.js)"/g)];
  const loaded = [];
  globalThis.document = strict(
    {
      getElementById(id) {
        if (!(id in byId)) throw new Error(`document.getElementById(${id}): not mocked`);
        return byId[id];
      },
      querySelector(selector) {
        const id = selector.startsWith("#") && selector.slice(1);
        if (!(id in byId)) throw new Error(`document.querySelector(${selector}): not mocked`);
        return byId[id];
      },
      querySelectorAll(selector) {
        const clicker = selector.match(/^\[([\w-]+)\]$/)?.[1];
        if (!CLICKERS.includes(clicker)) throw new Error(`querySelectorAll(${selector}): not mocked`);
        return buttons.filter((b) => b.hasAttribute(clicker));
      },
      createElement: (tag) => element(tag),
      addEventListener(type, listener) {
        if (type !== "DOMContentLoaded") throw new Error(`document: ${type} events not mocked`);
        loaded.push(listener);
      },
    },
    "document",
  );
  return { buttons, errorBox: byId["global-error-alert"], loaded, scripts: own.map((m) => m[1]) };
}

// --- run ----------------------------------------------------------------------------------

const job = await stdin();
const book = installExcel(job.workbook);
const before = book.dump();
const requests = [];
class RecordingRequest extends XMLHttpRequest {
  send(body) {
    requests.push({ xhr: this, body });
    return super.send(body);
  }
}
const storage = new Map();
Object.assign(globalThis, {
  XMLHttpRequest: RecordingRequest,
  window: strict({ location: { origin: base } }, "window"),
  localStorage: strict(
    {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => storage.set(key, String(value)),
    },
    "localStorage",
  ),
});
Object.defineProperty(globalThis, "navigator", {
  value: { userAgent: "Mozilla/5.0 (leadbook's task-pane mock; Node)" },
  configurable: true,
});
const { buttons, errorBox, loaded, scripts } = installPage(await text("/taskpane.html"));
// Sign-in: the token pasted once into Sign in on the task pane, sent by the server's auth.js.
if (process.env.LEADBOOK_SIGN_IN) storage.set("leadbook.token", process.env.LEADBOOK_SIGN_IN);
vm.runInThisContext(await text("/static/js/auth.js"), { filename: "auth.js" });
await import(`${base}/static/js/custom-scripts/index.js`);
for (const src of scripts) await import(new URL(src, base).href); // the page's module order
for (const listener of loaded) await listener(); // DOMContentLoaded: xlwings' init()

const presses = [];
for (const script of job.press) {
  const button = buttons.find((b) => buttonScript(b) === script);
  if (!button) throw new Error(`the task pane has no button ${script}`);
  errorBox.classList.add("d-none");
  const clicks = button._listeners.click ?? [];
  if (clicks.length !== 1) throw new Error(`${script}: ${clicks.length} click handlers`);
  await clicks[0]({ type: "click", target: button });
  const shown = !errorBox._classes.has("d-none");
  presses.push({
    script,
    error: shown ? errorBox.querySelector("span").textContent : null,
    workbook: book.dump(),
  });
}

const result = {
  buttons: buttons.map(buttonScript),
  clickers: buttons.map((b) => CLICKERS.find((c) => b.hasAttribute(c))),
  presses,
  requests: requests.map(({ xhr, body }) => ({
    method: xhr.method,
    path: xhr.url.pathname,
    headers: xhr.headers,
    body: body == null ? null : JSON.parse(body),
    status: xhr.status,
  })),
  workbook: before,
  missing,
};
process.stdout.write(JSON.stringify(result), () => process.exit(0));
