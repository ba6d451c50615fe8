// The Office.js globals that xlwings' custom-functions client reads, as two hosts provide
// them: "desktop" (Excel for Windows and Mac) and "web" (Excel on the web). They differ where
// the hosts differ for custom functions: an empty cell in an argument arrives as 0 on the
// desktop and as null on the web (OfficeDev/office-js#4702, #5262).
import { XMLHttpRequest } from "./xhr.mjs";

const ERROR_CODES = {
  invalidValue: "#VALUE!",
  notAvailable: "#N/A",
  divisionByZero: "#DIV/0!",
  invalidNumber: "#NUM!",
  nullReference: "#NULL!",
  invalidName: "#NAME?",
  invalidReference: "#REF!",
};

class CustomFunctionsError extends Error {
  constructor(code, message) {
    super(message ?? code);
    this.code = code;
  }

  toJSON() {
    // JSON.stringify of an Error keeps its own enumerable fields: what Office.js's error
    // object carries into the request body.
    return { code: this.code, message: this.message };
  }
}

export function installOffice({ origin, workbookName = "Book1.xlsx" }) {
  const supported = { CustomFunctionsRuntime: "1.4", ExcelApi: "1.17", SharedRuntime: "1.1" };
  const registered = new Map();
  const ready = Promise.resolve({ host: "Excel", platform: "PC" });

  class RequestContext {
    constructor() {
      const workbook = { name: workbookName, load: () => workbook };
      const cultureInfo = {
        name: "en-US",
        load: () => cultureInfo,
        datetimeFormat: { shortDatePattern: "M/d/yyyy", load: () => {} },
      };
      this.workbook = workbook;
      this.application = { cultureInfo };
    }

    async sync() {}
  }

  Object.assign(globalThis, {
    XMLHttpRequest,
    window: { location: { origin } },
    localStorage: new Map(Object.entries({})),
    Office: {
      onReady: (callback) => ready.then((info) => (callback ? callback(info) : info)),
      context: {
        requirements: {
          // Versions compare part by part: ExcelApi 1.17 is after 1.8.
          isSetSupported: (name, version) => {
            const have = String(supported[name] ?? 0).split(".").map(Number);
            const want = String(version).split(".").map(Number);
            const at = have.findIndex((part, i) => part !== (want[i] ?? 0));
            return at < 0 ? have.length >= want.length : have[at] > (want[at] ?? 0);
          },
        },
      },
      actions: { associate: () => {} },
    },
    Excel: {
      RequestContext,
      run: async (body) => body(new RequestContext()),
    },
    CustomFunctions: {
      associate: (id, f) => registered.set(id, f),
      Error: CustomFunctionsError,
      ErrorCode: ERROR_CODES,
    },
  });
  // The Map above stands in for localStorage's getItem/setItem.
  globalThis.localStorage.getItem = (k) => globalThis.localStorage.get(k) ?? null;
  globalThis.localStorage.setItem = (k, v) => globalThis.localStorage.set(k, String(v));
  return registered;
}

/** A cell as the host sends it: {"empty": true} and {"error": "#DIV/0!"} stand for an empty
 * cell and an error cell; everything else is the cell's value. */
export function hostValue(cell, host) {
  if (cell && typeof cell === "object" && !Array.isArray(cell)) {
    if (cell.empty) return host === "desktop" ? 0 : null;
    if (cell.error) {
      const code = Object.entries(ERROR_CODES).find(([, text]) => text === cell.error)?.[1];
      return new CustomFunctionsError(code ?? cell.error);
    }
  }
  return cell;
}
