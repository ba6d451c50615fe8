// leadbook's task-pane buttons (lb-click="script"). A press is xlwings' own (its client's
// runPython, as its xw-click buttons make it), with one thing added: the formulas of the
// workbook's tabs, which Office.js reads (Range.formulas) but xlwings' request leaves out, as
// the script's one argument. The server then leaves formula cells a job did not change as
// they are, and keeps the formulas in the version Undo restores (udfs/book.py,
// sent_formulas). Sent as {tab: {formula: ["B5", "C6:C40", ...]}}: a block is a run of cells
// down a column holding the same formula text.

function cellAddress(row, column) {
  let letters = "";
  for (let n = column + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return `${letters}${row + 1}`;
}

// The formulas of a block read at (top, left), 0-based: formula → addresses. A cell counts
// when its formula starts with "=" and is not its own value (text that only looks like one).
function formulasOf(top, left, formulas, values) {
  const found = {};
  const add = (formula, first, last, column) => {
    const start = cellAddress(top + first, left + column);
    const end = cellAddress(top + last, left + column);
    (found[formula] ??= []).push(first === last ? start : `${start}:${end}`);
  };
  for (let j = 0; j < (formulas[0]?.length ?? 0); j += 1) {
    let run = null; // [formula, first row, last row]
    for (let i = 0; i < formulas.length; i += 1) {
      const formula = formulas[i][j];
      const isFormula =
        typeof formula === "string" && formula.startsWith("=") && formula !== values[i][j];
      if (run && isFormula && formula === run[0]) {
        run[2] = i;
        continue;
      }
      if (run) add(run[0], run[1], run[2], j);
      run = isFormula ? [formula, i, i] : null;
    }
    if (run) add(run[0], run[1], run[2], j);
  }
  return found;
}

// Every tab's formulas, over the range xlwings reads the values of (the used range, values
// only).
export async function readFormulas() {
  await Office.onReady();
  return Excel.run(async (context) => {
    const sheets = context.workbook.worksheets.load("items/name");
    await context.sync();
    const used = sheets.items.map((sheet) => {
      const range = sheet.getUsedRangeOrNullObject(true);
      range.load("isNullObject,rowIndex,columnIndex,formulas,values");
      return [sheet.name, range];
    });
    await context.sync();
    const found = {};
    for (const [name, range] of used) {
      if (range.isNullObject) continue;
      const formulas = formulasOf(range.rowIndex, range.columnIndex, range.formulas, range.values);
      if (Object.keys(formulas).length > 0) found[name] = formulas;
    }
    return found;
  });
}

function showError(error) {
  const box = document.querySelector("#global-error-alert");
  if (!box) return;
  box.classList.remove("d-none");
  box.querySelector("span").textContent = `leadbook could not read the workbook's formulas: ${error}`;
}

// As xlwings' xw-click handler: error box cleared, button disabled with a spinner, the
// sign-in of auth.js, errors shown on the task pane. leadbook's scripts declare no
// include/exclude/lazy, so xlwings' defaults are theirs.
async function press(button) {
  document.querySelector("#global-error-alert")?.classList.add("d-none");
  button.setAttribute("disabled", "true");
  const spinner = document.createElement("span");
  spinner.className = "spinner-border spinner-border-sm text-white";
  spinner.setAttribute("role", "status");
  spinner.setAttribute("aria-hidden", "true");
  button.appendChild(spinner);
  try {
    let formulas;
    try {
      formulas = await readFormulas();
    } catch (error) {
      console.error(error);
      showError(error?.message ?? error);
      return;
    }
    const auth =
      typeof globalThis.getAuth === "function"
        ? await globalThis.getAuth()
        : { token: "", provider: "" };
    await globalThis.xlwings.runPython({
      scriptName: button.getAttribute("lb-click"),
      auth: auth.token,
      headers: { "Auth-Provider": auth.provider },
      errorDisplayMode: "taskpane",
      args: [formulas],
    });
  } finally {
    button.removeChild(spinner);
    button.removeAttribute("disabled");
  }
}

for (const button of document.querySelectorAll("[lb-click]")) {
  button.addEventListener("click", () => press(button));
}
