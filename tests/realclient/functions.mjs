// Calls leadbook's cell functions through xlwings' own custom-functions client, as Excel
// does: the script is the one `leadbook serve` sends Excel (/xlwings/custom-functions-code.js),
// run with its task-pane helpers (utils.js: the XHR request and the culture lookups).
//
//   LEADBOOK_SIGN_IN=TOKEN node functions.mjs BASE_URL HOST < calls.json > answers.json
//
// HOST is desktop or web. calls.json: {"calls": [{"id": "LB_TIER", "args": [...]}]}, each
// argument a matrix or null (omitted), cells as office.mjs's hostValue reads them. Answers:
// {"registered": [ids], "answers": [{"value": ..., "seconds": s} | {"error": code,
// "message": text, "seconds": s}]}.
import vm from "node:vm";
import { hostValue, installOffice } from "./office.mjs";
import { stdin, text as fetchText } from "./io.mjs";

const [base, host] = process.argv.slice(2);

const text = (path) => fetchText(base, path);

const registered = installOffice({ origin: base });
// The task pane embeds the server's client configuration as JSON; the functions read it.
const page = await text("/taskpane.html");
const config = page.match(/<script id="config" type="application\/json">([\s\S]*?)<\/script>/);
globalThis.config = JSON.parse(config[1]);
const utils = await import(
  "data:text/javascript," + encodeURIComponent(await text("/static/js/utils.js"))
);
globalThis.xlwings = {
  getCultureInfoName: utils.getCultureInfoName,
  getDateFormat: utils.getDateFormat,
};
// Sign-in: the token the user pasted once into Sign in on the task pane (kept in the add-in's
// storage, LEADBOOK_SIGN_IN here), sent by the server's own auth.js.
if (process.env.LEADBOOK_SIGN_IN) {
  globalThis.localStorage.setItem("leadbook.token", process.env.LEADBOOK_SIGN_IN);
}
vm.runInThisContext(await text("/static/js/auth.js"), { filename: "auth.js" });
vm.runInThisContext(await text("/xlwings/custom-functions-code.js"), {
  filename: "custom-functions-code.js",
});

/** An argument as the host passes it: a matrix of cells; {"rows": N, "values": matrix} is
 * the matrix followed by empty rows up to N rows (a whole column is 1,048,576); null is an
 * omitted argument. */
function hostArgument(arg, host) {
  if (arg === null || arg === undefined) return null;
  if (!Array.isArray(arg)) {
    const width = arg.values[0].length;
    const empty = hostValue({ empty: true }, host);
    const rows = arg.values.map((row) => row.map((cell) => hostValue(cell, host)));
    while (rows.length < arg.rows) rows.push(new Array(width).fill(empty));
    return rows;
  }
  return arg.map((row) => row.map((cell) => hostValue(cell, host)));
}

const { calls } = await stdin();
const answers = await Promise.all(
  calls.map(async ({ id, args, address = "Sheet1!A1" }) => {
    const f = registered.get(id);
    if (!f) return { error: "#NAME?", message: `${id} is not registered` };
    const invocation = { address, setResult: () => {} };
    const values = args.map((arg) => hostArgument(arg, host));
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const value = await f(...values, invocation);
      return { value, seconds: seconds() };
    } catch (error) {
      return { error: error.code ?? "exception", message: error.message, seconds: seconds() };
    }
  }),
);
process.stdout.write(JSON.stringify({ registered: [...registered.keys()], answers }));
