// A small Office.js `Excel` over a workbook held in memory: as much of Excel's object model as
// xlwings' task-pane client uses to send a workbook to the server (getBookData) and to apply
// the actions it gets back (runActions) for leadbook's buttons, and nothing more. Every other
// property or method is reported as missing and throws, so a call the mock does not know
// cannot pass unnoticed; `missing` lists them even where the client catches the error.
//
// The workbook (see tests/udfs/taskpane.py, which makes it from an .xlsx and reads it back):
//   {name, active, selection: [sheet, "A1"],
//    names: [{name, formula, type, sheet, ref}],      // book scope; ref [r0, c0, rows, cols]
//    sheets: [{name, cells: [[row, col, value, formula, numberFormat]],   // 0-based
//              tables: [{name, ref, style, showHeaders, showTotals, showFilterButton,
//                        highlightFirstColumn, highlightLastColumn, showBandedRows,
//                        showBandedColumns}]}]}
// A cell's value is what Excel's Range.values gives: a number (dates too, as serial numbers,
// their date format in numberFormat), text, a boolean, an error as its text ("#N/A"), "" empty.
//
// Writing follows Excel's documented rules for Range.values: a null leaves the cell as it is;
// text is read as if typed (a leading "=" is a formula, an apostrophe keeps text, numbers,
// percentages, TRUE/FALSE and ISO dates become values). Text Excel would read in a way the
// mock does not model (other date forms, "+…"/"-…" formulas) is reported as missing rather
// than guessed. The mock does not calculate: a formula written keeps no value, and reading it
// back is reported.

export const missing = [];

function gap(what) {
  const message = `Office.js mock: ${what} is not implemented (tests/realclient/excel.mjs)`;
  missing.push(what);
  return new Error(message);
}

class OfficeError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
    this.name = "RichApi.Error";
  }
}

// Names a Proxy must let through although the object lacks them: `await x` asks for `then`,
// JSON.stringify for `toJSON`, console.log for inspection symbols.
const PASS = new Set(["then", "toJSON", "constructor", "inspect", "nodeType", "asymmetricMatch"]);

/** `target`, failing loudly on any property it lacks. */
export function strict(target, path) {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === "symbol" || key in t) return Reflect.get(t, key, receiver);
      if (PASS.has(key)) return undefined;
      throw gap(`${path}.${String(key)}`);
    },
    set(t, key, value, receiver) {
      if (typeof key === "symbol" || key in t) return Reflect.set(t, key, value, receiver);
      throw gap(`setting ${path}.${String(key)}`);
    },
  });
}

// --- addresses ---------------------------------------------------------------------------

export function columnName(index) {
  let name = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}

function columnIndex(letters) {
  return [...letters.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
}

/** "A1:B2", "$A$1", "Sheet!A1" → [sheet or null, r0, c0, rows, cols]. */
export function parseAddress(address) {
  let sheet = null;
  let where = address;
  const bang = address.lastIndexOf("!");
  if (bang >= 0) {
    sheet = address.slice(0, bang).replace(/^'(.*)'$/, "$1").replaceAll("''", "'");
    where = address.slice(bang + 1);
  }
  const parts = where.replaceAll("$", "").split(":");
  const cells = parts.map((part) => {
    const m = part.match(/^([A-Za-z]{1,3})(\d+)$/);
    if (!m) throw new OfficeError("InvalidArgument", `an address the mock cannot read: ${address}`);
    return [Number(m[2]) - 1, columnIndex(m[1])];
  });
  const [[r0, c0], [r1, c1] = cells[0]] = cells;
  return [sheet, Math.min(r0, r1), Math.min(c0, c1), Math.abs(r1 - r0) + 1, Math.abs(c1 - c0) + 1];
}

function quoted(sheetName) {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(sheetName)
    ? sheetName
    : `'${sheetName.replaceAll("'", "''")}'`;
}

function localAddress(r0, c0, rows, cols) {
  const first = `${columnName(c0)}${r0 + 1}`;
  if (rows === 1 && cols === 1) return first;
  return `${first}:${columnName(c0 + cols - 1)}${r0 + rows}`;
}

// --- what Excel does with text written through Range.values -------------------------------

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const MONTH = "(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|oct(ober)?|nov(ember)?|dec(ember)?)";
// Text Excel (en-US) may read as a number, a date, a time or a fraction: not modelled.
const AMBIGUOUS = [
  /^\d{1,4}[/-]\d{1,2}([/-]\d{1,4})?$/, // 10/1, 2026/10/1, 10-15
  /^\d{1,2}:\d{2}/, // 12:30
  /^\d+ \d+\/\d+$/, // 1 1/2
  /^[+-]?\$?\d{1,3}(,\d{3})+(\.\d*)?%?$/, // 1,200
  /^[+-]?\$\d/, // $1200
  /^\(\$?\d[\d,.]*\)$/, // (123), a negative number
  new RegExp(`^\\d{1,2}[ -]${MONTH}([ -]\\d{2,4})?$`, "i"), // 1 Oct, 1-Oct-2026
  new RegExp(`^${MONTH}[ -]\\d{1,4}(,? \\d{2,4})?$`, "i"), // Oct 1, October 2026
];
export const UNCALCULATED = Symbol("uncalculated");

function serialOf(y, m, d, hh = 0, mm = 0, ss = 0) {
  return (Date.UTC(y, m - 1, d, hh, mm, ss) - Date.UTC(1899, 11, 30)) / 86400000;
}

/** The cell Excel keeps for `value` typed into a cell that had number format `format`. */
function typedIn(value, format, where) {
  if (typeof value === "number" || typeof value === "boolean") return { v: value, f: null };
  if (typeof value !== "string") throw gap(`writing a ${typeof value} (${where})`);
  if (value === "") return { v: "", f: null };
  if (value.startsWith("=")) return { v: UNCALCULATED, f: value };
  if (value.startsWith("'")) return { v: value.slice(1), f: null, text: true };
  if (NUMBER.test(value)) return { v: Number(value), f: null };
  if (/^(true|false)$/i.test(value)) return { v: value.toLowerCase() === "true", f: null };
  const percent = value.match(/^([+-]?(\d+(\.\d*)?|\.\d+))%$/);
  if (percent) {
    return { v: Number(percent[1]) / 100, f: null, nf: format === "General" ? "0%" : null };
  }
  const iso = value.match(ISO_DATE);
  if (iso) {
    const [y, mo, d, hh, mi, ss] = iso.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
    const general = format === "General";
    const nf = general ? (iso[4] === undefined ? "m/d/yyyy" : "m/d/yyyy h:mm") : null;
    return { v: serialOf(y, mo, d, hh, mi, ss), f: null, nf };
  }
  if (value.startsWith("+") || value.startsWith("-") || value.startsWith("@")) {
    throw gap(`typing ${JSON.stringify(value)}, which Excel reads as a formula (${where})`);
  }
  if (AMBIGUOUS.some((re) => re.test(value))) {
    throw gap(`typing ${JSON.stringify(value)}, which Excel may read as a date (${where})`);
  }
  return { v: value, f: null };
}

// --- the workbook ------------------------------------------------------------------------

class Book {
  constructor(data) {
    this.name = data.name;
    this.sheets = data.sheets.map((s) => new SheetModel(this, s));
    this.names = data.names.map((n) => ({ ...n }));
    this.active = data.active ?? 0;
    this.selection = data.selection ?? [this.active, "A1"];
  }

  sheet(name) {
    return this.sheets.find((s) => s.name === name);
  }

  tables() {
    return this.sheets.flatMap((s) => s.tables);
  }

  dump() {
    return {
      name: this.name,
      active: this.active,
      names: this.names,
      sheets: this.sheets.map((s) => s.dump()),
    };
  }
}

class SheetModel {
  constructor(book, data) {
    this.book = book;
    this.name = data.name;
    this.cells = new Map();
    for (const [r, c, v, f, nf] of data.cells) {
      this.cells.set(`${r},${c}`, { v, f: f ?? null, nf: nf ?? "General" });
    }
    this.tables = (data.tables ?? []).map((t) => new TableModel(this, t));
    this.names = [];
  }

  cell(r, c) {
    return this.cells.get(`${r},${c}`) ?? { v: "", f: null, nf: "General" };
  }

  put(r, c, cell) {
    const empty = (cell.v === "" || cell.v === null) && !cell.f && cell.nf === "General";
    if (empty) this.cells.delete(`${r},${c}`);
    else this.cells.set(`${r},${c}`, cell);
  }

  /** The smallest block holding every cell with a value or formula, or null. */
  usedValues() {
    let box = null;
    for (const [key, cell] of this.cells) {
      if (cell.v === "" && !cell.f) continue;
      const [r, c] = key.split(",").map(Number);
      box = box
        ? [Math.min(box[0], r), Math.min(box[1], c), Math.max(box[2], r), Math.max(box[3], c)]
        : [r, c, r, c];
    }
    return box && [box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1];
  }

  dump() {
    const cells = [...this.cells].map(([key, { v, f, nf }]) => {
      const [r, c] = key.split(",").map(Number);
      return [r, c, v === UNCALCULATED ? null : v, f, nf];
    });
    return { name: this.name, cells, tables: this.tables.map((t) => t.dump()) };
  }
}

function overlaps(a, b) {
  return (
    a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]
  );
}

class TableModel {
  constructor(sheet, data) {
    this.sheet = sheet;
    this.name = data.name;
    this.ref = typeof data.ref === "string" ? parseAddress(data.ref).slice(1) : data.ref;
    this.style = data.style ?? "TableStyleMedium2";
    this.showHeaders = data.showHeaders ?? true;
    this.showTotals = data.showTotals ?? false;
    this.showFilterButton = data.showFilterButton ?? true;
    this.highlightFirstColumn = data.highlightFirstColumn ?? false;
    this.highlightLastColumn = data.highlightLastColumn ?? false;
    this.showBandedRows = data.showBandedRows ?? true;
    this.showBandedColumns = data.showBandedColumns ?? false;
  }

  /** Column names: the header cells, as Excel keeps them in step (a blank one ColumnN). */
  columns() {
    if (!this.showHeaders) throw gap("a table without a header row");
    const [r0, c0, , cols] = this.ref;
    const seen = new Set();
    return Array.from({ length: cols }, (_, j) => {
      const { v, f } = this.sheet.cell(r0, c0 + j);
      if (f) throw gap(`a formula in the header of table ${this.name}`);
      let name = v === "" || v === null ? `Column${j + 1}` : String(v);
      if (seen.has(name.toLowerCase())) throw gap(`duplicate header ${name} in table ${this.name}`);
      seen.add(name.toLowerCase());
      return name;
    });
  }

  dump() {
    return {
      name: this.name,
      ref: localAddress(...this.ref),
      columns: this.columns(),
      style: this.style,
      showHeaders: this.showHeaders,
      showTotals: this.showTotals,
    };
  }
}

// --- Office.js objects over the model ------------------------------------------------------

function nullObject(path) {
  const target = { isNullObject: true, load: () => proxy };
  const proxy = strict(target, `${path} (null object)`);
  return proxy;
}

function collection(items, path, extra = {}) {
  const target = {
    get items() {
      return items();
    },
    load() {
      return proxy;
    },
    ...extra,
  };
  const proxy = strict(target, path);
  return proxy;
}

class Range {
  constructor(sheet, r0, c0, rows, cols) {
    Object.assign(this, { _sheet: sheet, _r0: r0, _c0: c0, _rows: rows, _cols: cols });
    this.isNullObject = false;
  }

  load() {
    return this._self;
  }

  get address() {
    return `${quoted(this._sheet.name)}!${localAddress(this._r0, this._c0, this._rows, this._cols)}`;
  }

  get rowCount() {
    return this._rows;
  }

  get columnCount() {
    return this._cols;
  }

  get rowIndex() {
    return this._r0;
  }

  get columnIndex() {
    return this._c0;
  }

  get worksheet() {
    return worksheet(this._sheet);
  }

  _grid(read) {
    return Array.from({ length: this._rows }, (_, i) =>
      Array.from({ length: this._cols }, (_, j) => read(this._r0 + i, this._c0 + j)),
    );
  }

  get values() {
    return this._grid((r, c) => {
      const { v } = this._sheet.cell(r, c);
      if (v === UNCALCULATED) {
        throw gap(`reading ${this._sheet.name}!${localAddress(r, c, 1, 1)}, a formula the mock wrote and cannot calculate`);
      }
      return v;
    });
  }

  /** Each cell's formula, or its value where it has none (as Excel's Range.formulas). */
  get formulas() {
    return this._grid((r, c) => {
      const { v, f } = this._sheet.cell(r, c);
      return f ?? v;
    });
  }

  set values(matrix) {
    this._check(matrix, "values");
    matrix.forEach((row, i) =>
      row.forEach((value, j) => {
        if (value === null) return; // Office.js: a null leaves the cell as it is
        const r = this._r0 + i;
        const c = this._c0 + j;
        const old = this._sheet.cell(r, c);
        const where = `${this._sheet.name}!${localAddress(r, c, 1, 1)}`;
        const { v, f, nf } = typedIn(value, old.nf, where);
        this._sheet.put(r, c, { v, f, nf: nf ?? old.nf });
      }),
    );
  }

  get numberFormat() {
    return this._grid((r, c) => this._sheet.cell(r, c).nf);
  }

  set numberFormat(matrix) {
    // A 1×1 matrix applies to every cell (OfficeDev/office-js-docs-pr#5400); else one a cell.
    const one = matrix.length === 1 && matrix[0].length === 1;
    if (!one) this._check(matrix, "numberFormat");
    this._grid((r, c) => {
      const format = one ? matrix[0][0] : matrix[r - this._r0][c - this._c0];
      if (format === null) return;
      if (typeof format !== "string") throw gap(`a number format that is a ${typeof format}`);
      this._sheet.put(r, c, { ...this._sheet.cell(r, c), nf: format });
    });
  }

  _check(matrix, what) {
    const fits =
      Array.isArray(matrix) &&
      matrix.length === this._rows &&
      matrix.every((row) => Array.isArray(row) && row.length === this._cols);
    if (!fits) {
      // What Excel answers when the matrix does not have the range's rows and columns.
      throw new OfficeError(
        "InvalidArgument",
        `The number of rows or columns in the input array doesn't match the size or dimensions of the range (${what} of ${this.address}).`,
      );
    }
  }
}

function range(sheet, r0, c0, rows, cols) {
  const target = new Range(sheet, r0, c0, rows, cols);
  const proxy = strict(target, `Range(${target.address})`);
  target._self = proxy;
  return proxy;
}

function namedItem(book, model, path) {
  const target = {
    get name() {
      return model.name;
    },
    get type() {
      return model.type;
    },
    get formula() {
      return model.formula;
    },
    getRangeOrNullObject() {
      if (model.type !== "Range") return nullObject(`${path}.getRangeOrNullObject()`);
      const sheet = book.sheet(model.sheet);
      return sheet ? range(sheet, ...model.ref) : nullObject(`${path}.getRangeOrNullObject()`);
    },
  };
  return strict(target, path);
}

function names(book, list, path) {
  return collection(() => list.map((n) => namedItem(book, n, `${path}[${n.name}]`)), path, {
    add(name, reference) {
      if (typeof reference !== "string") throw gap(`${path}.add with a Range`);
      if (list.some((n) => n.name.toLowerCase() === name.toLowerCase())) {
        throw new OfficeError("ItemAlreadyExists", `The name ${name} already exists.`);
      }
      const formula = reference.startsWith("=") ? reference : `=${reference}`;
      if (!/^="[^"]*"$/.test(formula)) throw gap(`${path}.add of ${formula} (only text constants)`);
      const model = { name, formula, type: "String", sheet: null, ref: null };
      list.push(model);
      return namedItem(book, model, `${path}[${name}]`);
    },
  });
}

function table(model) {
  const path = `Table(${model.name})`;
  const sheet = model.sheet;
  const target = {
    load: () => proxy,
    get name() {
      return model.name;
    },
    set name(value) {
      const clash = sheet.book.tables().some((t) => t !== model && t.name === value);
      if (clash) throw new OfficeError("InvalidArgument", `A table named ${value} exists.`);
      model.name = value;
    },
    get style() {
      return model.style;
    },
    set style(value) {
      model.style = value;
    },
    get showHeaders() {
      return model.showHeaders;
    },
    get showTotals() {
      return model.showTotals;
    },
    get showFilterButton() {
      return model.showFilterButton;
    },
    get highlightFirstColumn() {
      return model.highlightFirstColumn;
    },
    get highlightLastColumn() {
      return model.highlightLastColumn;
    },
    get showBandedRows() {
      return model.showBandedRows;
    },
    get showBandedColumns() {
      return model.showBandedColumns;
    },
    getRange: () => range(sheet, ...model.ref),
    getHeaderRowRange: () => range(sheet, model.ref[0], model.ref[1], 1, model.ref[3]),
    getDataBodyRange: () =>
      range(sheet, model.ref[0] + 1, model.ref[1], model.ref[2] - 1, model.ref[3]),
    get columns() {
      return collection(
        () => model.columns().map((name) => strict({ name }, `${path}.columns[${name}]`)),
        `${path}.columns`,
      );
    },
    resize(address) {
      // Excel: the header row stays where it is, the new range overlaps the old, and it
      // overlaps no other table.
      const [, r0, c0, rows, cols] = parseAddress(address);
      const ref = [r0, c0, rows, cols];
      if (r0 !== model.ref[0] || !overlaps(ref, model.ref) || rows < 2) {
        throw new OfficeError("InvalidArgument", `${path}.resize(${address}): not allowed`);
      }
      if (sheet.tables.some((t) => t !== model && overlaps(t.ref, ref))) {
        throw new OfficeError("InvalidOperation", `${path}.resize(${address}) overlaps a table`);
      }
      model.ref = ref;
    },
  };
  const proxy = strict(target, path);
  return proxy;
}

function tables(sheet) {
  const path = `Worksheet(${sheet.name}).tables`;
  return collection(() => sheet.tables.map(table), path, {
    add(address, hasHeaders) {
      if (!hasHeaders) throw gap(`${path}.add without headers`);
      const [named, r0, c0, rows, cols] = parseAddress(address);
      if (named !== null && named !== sheet.name) throw gap(`${path}.add on another sheet`);
      const ref = [r0, c0, rows, cols];
      if (rows < 2) throw gap(`${path}.add of a header row alone`);
      if (sheet.tables.some((t) => overlaps(t.ref, ref))) {
        throw new OfficeError("InvalidOperation", `${path}.add(${address}) overlaps a table`);
      }
      const taken = new Set(sheet.book.tables().map((t) => t.name));
      let n = taken.size + 1;
      while (taken.has(`Table${n}`)) n += 1;
      const model = new TableModel(sheet, { name: `Table${n}`, ref });
      model.columns(); // Excel names the columns from the header cells
      sheet.tables.push(model);
      return table(model);
    },
  });
}

function worksheet(model) {
  const book = model.book;
  const path = `Worksheet(${model.name})`;
  const empty = (what) => collection(() => [], `${path}.${what}`);
  const target = {
    load: () => proxy,
    get name() {
      return model.name;
    },
    get position() {
      return book.sheets.indexOf(model);
    },
    set position(index) {
      book.sheets.splice(book.sheets.indexOf(model), 1);
      book.sheets.splice(Math.min(index, book.sheets.length), 0, model);
    },
    visibility: "Visible",
    showGridlines: true,
    get names() {
      return names(book, model.names, `${path}.names`);
    },
    get tables() {
      return tables(model);
    },
    get charts() {
      return empty("charts");
    },
    get pivotTables() {
      return empty("pivotTables");
    },
    get shapes() {
      return empty("shapes");
    },
    get notes() {
      return empty("notes");
    },
    pageLayout: strict(
      { getPrintAreaOrNullObject: () => nullObject(`${path}.printArea`) },
      `${path}.pageLayout`,
    ),
    getUsedRangeOrNullObject(valuesOnly) {
      if (valuesOnly !== true) throw gap(`${path}.getUsedRangeOrNullObject(${valuesOnly})`);
      const used = model.usedValues();
      return used ? range(model, ...used) : nullObject(`${path}.usedRange`);
    },
    getRange(address) {
      const [named, ...where] = parseAddress(address);
      if (named !== null && named !== model.name) throw gap(`${path}.getRange(${address})`);
      return range(model, ...where);
    },
    getRangeByIndexes(r0, c0, rows, cols) {
      return range(model, r0, c0, rows, cols);
    },
  };
  const proxy = strict(target, path);
  return proxy;
}

function worksheets(book) {
  const path = "workbook.worksheets";
  return collection(() => book.sheets.map(worksheet), path, {
    getItemOrNullObject(name) {
      const found = book.sheet(name);
      return found ? worksheet(found) : nullObject(`${path}.getItemOrNullObject(${name})`);
    },
    getItem(name) {
      const found = book.sheet(name);
      if (!found) throw new OfficeError("ItemNotFound", `No sheet ${name}`);
      return worksheet(found);
    },
    getActiveWorksheet() {
      return worksheet(book.sheets[book.active]);
    },
    add(name) {
      if (typeof name !== "string") throw gap(`${path}.add() without a name`);
      if (book.sheets.some((s) => s.name.toLowerCase() === name.toLowerCase())) {
        throw new OfficeError("ItemAlreadyExists", `A sheet named ${name} exists.`);
      }
      const model = new SheetModel(book, { name, cells: [], tables: [] });
      book.sheets.push(model); // Excel adds a sheet after the last one
      return worksheet(model);
    },
  });
}

/** Whether requirement-set version `have` is `want` or later ("1.17" is after "1.8"). */
function atLeast(have, want) {
  const [a, b] = [have, want].map((v) => String(v).split(".").map(Number));
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Office's and Excel's globals over `data`, as Microsoft 365's Excel (ExcelApi 1.19);
 * `book.dump()` gives the workbook back. */
export function installExcel(data, { excelApi = "1.19" } = {}) {
  const book = new Book(data);
  // Office matches requirement-set names without regard to case ("ExcelAPI" is ExcelApi).
  const supported = { excelapi: excelApi, sharedruntime: "1.1", dialogapi: "1.2" };
  const ready = Promise.resolve({ host: "Excel", platform: "PC" });
  const cultureInfo = strict(
    {
      name: "en-US",
      load: () => cultureInfo,
      datetimeFormat: strict(
        { shortDatePattern: "M/d/yyyy", load: () => {} },
        "cultureInfo.datetimeFormat",
      ),
    },
    "application.cultureInfo",
  );
  const application = strict(
    { calculationMode: "Automatic", cultureInfo, load: () => application },
    "application",
  );

  class RequestContext {
    constructor() {
      const workbook = strict(
        {
          get name() {
            return book.name;
          },
          load: () => workbook,
          application,
          get worksheets() {
            return worksheets(book);
          },
          get names() {
            return names(book, book.names, "workbook.names");
          },
          getSelectedRange() {
            const [sheet, address] = book.selection;
            return worksheet(book.sheets[sheet]).getRange(address);
          },
        },
        "workbook",
      );
      this.workbook = workbook;
      this.application = application;
      return strict(this, "context");
    }

    async sync() {}
  }

  globalThis.Office = strict(
    {
      onReady: (callback) => ready.then((info) => (callback ? callback(info) : info)),
      context: strict(
        {
          requirements: strict(
            {
              isSetSupported: (name, version) =>
                atLeast(supported[name.toLowerCase()] ?? "0", version),
            },
            "Office.context.requirements",
          ),
          diagnostics: strict(
            { version: "16.0 (leadbook's Office.js mock)", platform: "PC" },
            "Office.context.diagnostics",
          ),
        },
        "Office.context",
      ),
    },
    "Office",
  );
  globalThis.Excel = strict(
    {
      RequestContext: strict(RequestContext, "Excel.RequestContext"),
      run: async (...args) => {
        if (args.length !== 1) throw gap("Excel.run with an existing context");
        const context = new RequestContext();
        const result = await args[0](context);
        await context.sync();
        return result;
      },
      ShapeType: strict({ image: "Image" }, "Excel.ShapeType"),
    },
    "Excel",
  );
  return book;
}
