// SPDX-License-Identifier: MIT
// The TypeScript transpiler the guest runs (guest.c, ts_transpile): sucrase's own transform with
// its "typescript" transform only (ES modules, and the syntax QuickJS has, stay as they are),
// bundled by esbuild (meson.build) into one script that defines globalThis.__pb_ts and nothing else.
// It runs inside the sandbox, in a context of its own that is freed once the script is
// transpiled. Sucrase keeps every line where it was; columns move where types are removed, so
// with the code comes a column map: for each stretch of a line that moved, the quadruple
// (line, column in the JavaScript, line, column in the TypeScript), 1-based as QuickJS counts
// them, written only where the shift changes; and whether the file is an ES module.
// (Sucrase's index.js is not the entry: its option checker and its source map writer would
// bring ts-interface-checker and @jridgewell/gen-mapping, which this needs neither of.)
import {parse} from "sucrase/dist/esm/parser";
import NameManager from "sucrase/dist/esm/NameManager";
import {HelperManager} from "sucrase/dist/esm/HelperManager";
import TokenProcessor from "sucrase/dist/esm/TokenProcessor";
import identifyShadowedGlobals from "sucrase/dist/esm/identifyShadowedGlobals";
import getTSImportedNames from "sucrase/dist/esm/util/getTSImportedNames";
import RootTransformer from "sucrase/dist/esm/transformers/RootTransformer";
import {TokenType as tt} from "sucrase/dist/esm/parser/tokenizer/types";
import {ContextualKeyword} from "sucrase/dist/esm/parser/tokenizer/keywords";

const options = {transforms: ["typescript"], disableESTransforms: true};

// Positions (ascending) to 1-based line and column, the column in code points as QuickJS counts
// it (the second half of a surrogate pair adds none).
function locator(text) {
  let pos = 0, line = 1, col = 1;
  return (to) => {
    for (; pos < to; pos++) {
      const c = text.charCodeAt(pos);
      if (c === 10) {
        line++;
        col = 1;
      } else if ((c & 0xfc00) !== 0xdc00) {
        col++;
      }
    }
    return [line, col];
  };
}

// Sucrase removes a namespace whole, as it would one that holds only types: one that holds values
// (a const, a function, a class, an enum...) would vanish silently and fail later as "N is not
// defined". It is refused here instead, at its position.
const valueKeywords = new Set([tt._var, tt._let, tt._const, tt._function, tt._class, tt._enum]);

const isDeclare = (t) => t && (t.type === tt._declare ||
                               (t.type === tt.name && t.contextualKeyword === ContextualKeyword._declare));

function refuseValueNamespaces(code, tokens) {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== tt.name ||
        (t.contextualKeyword !== ContextualKeyword._namespace && t.contextualKeyword !== ContextualKeyword._module))
      continue;
    if (isDeclare(tokens[i - 1]))
      continue; /* ambient: no value */
    let j = i + 1;
    while (j < tokens.length && (tokens[j].type === tt.name || tokens[j].type === tt.dot))
      j++;
    if (j === i + 1 || j >= tokens.length || tokens[j].type !== tt.braceL)
      continue; /* not a namespace declaration (a name `namespace`, `module "x"`) */
    let depth = 0;
    for (let k = j; k < tokens.length; k++) {
      const u = tokens[k];
      if (u.type === tt.braceL || u.type === tt.dollarBraceL)
        depth++;
      else if (u.type === tt.braceR && --depth === 0)
        break;
      else if (valueKeywords.has(u.type) ||
               (u.type === tt.name && u.contextualKeyword === ContextualKeyword._enum)) {
        if (isDeclare(tokens[k - 1]))
          continue;
        const e = new SyntaxError("namespaces that hold values are not supported (only types): " +
                                  "use an object or a module instead");
        const loc = locator(code)(t.start);
        e.line = loc[0];
        e.column = loc[1];
        throw e;
      }
    }
  }
}

function transpile(code) {
  let file;
  try {
    file = parse(code, false, true, false);
  } catch (e) {
    // sucrase's parser adds " (line:column)" to its message and e.loc
    if (e && e.loc) {
      e.message = e.message.replace(/ \(\d+:\d+\)$/, "");
      e.line = e.loc.line;
      e.column = e.loc.column;
    }
    throw e;
  }
  refuseValueNamespaces(code, file.tokens);
  const nameManager = new NameManager(code, file.tokens);
  const helperManager = new HelperManager(nameManager);
  const tokenProcessor = new TokenProcessor(code, file.tokens, false, true, helperManager);
  // TypeScript's elision of imports that only name types needs the shadowed globals
  identifyShadowedGlobals(tokenProcessor, file.scopes, getTSImportedNames(tokenProcessor));
  const transformer = new RootTransformer(
    {tokenProcessor, scopes: file.scopes, nameManager, importProcessor: null, helperManager},
    options.transforms, false, options);
  const result = transformer.transform();
  const out = result.code, mappings = result.mappings, tokens = file.tokens;
  const inAt = locator(code), outAt = locator(out);
  const map = [];
  for (let i = 0; i < tokens.length; i++) {
    const m = mappings[i];
    if (m === undefined || m < 0)
      continue;
    const [ol, oc] = outAt(m), [il, ic] = inAt(tokens[i].start);
    // tokens removed before a kept one share its output position: the kept one, last, counts
    let n = map.length;
    if (n && map[n - 4] === ol && map[n - 3] === oc)
      map.length = n -= 4;
    // an entry is needed where the shift differs from the one in force (none: 0 at a line's start)
    const sameLine = n && map[n - 4] === ol;
    const shift = sameLine ? map[n - 1] - map[n - 3] : 0, lineDelta = sameLine ? map[n - 2] - map[n - 4] : 0;
    if (ic - oc !== shift || il - ol !== lineDelta)
      map.push(ol, oc, il, ic);
  }
  // a module is a file with an import or export declaration anywhere, not only first (an enum
  // before them is code, an interface blank lines); import() and import.meta make none
  // (at the top level: a namespace's body has exports of its own)
  let module = false;
  for (let i = 0, depth = 0; i < tokens.length && !module; i++) {
    const t = tokens[i], next = tokens[i + 1];
    if (t.type === tt.braceL || t.type === tt.dollarBraceL)
      depth++;
    else if (t.type === tt.braceR)
      depth--;
    else if (depth === 0)
      module = t.type === tt._export ||
               (t.type === tt._import && !(next && (next.type === tt.parenL || next.type === tt.dot)));
  }
  return {code: out, map: new Int32Array(map), module};
}

globalThis.__pb_ts = transpile;
