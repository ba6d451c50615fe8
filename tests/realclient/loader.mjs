// Module hooks that let Node import ES modules from leadbook serve (http://127.0.0.1:…), as the
// task pane's browser does: `import … from "../utils.js"` in a module the server sent resolves
// against the server's URL and is fetched from it. Only loopback servers are loaded.
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (/^https?:/.test(specifier) || (parent?.startsWith("http") && /^\.{0,2}\//.test(specifier))) {
    const url = new URL(specifier, parent);
    if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
      throw new Error(`loader.mjs: refusing to import ${url} (not a loopback server)`);
    }
    return { url: url.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("http")) return nextLoad(url, context);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`loader.mjs: ${url}: HTTP ${response.status}`);
  return { format: "module", source: await response.text(), shortCircuit: true };
}
