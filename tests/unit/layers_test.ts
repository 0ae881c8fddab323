/**
 * shared/ is grouped by layer, and imports run one way: http → domain → storage, database →
 * core. A module may import from its own layer or a lower one, never a higher one, so a newcomer
 * can tell where a change belongs and the database layer never learns about HTTP.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const SHARED = fromFileUrl(new URL("../../shared/", import.meta.url));
const LAYERS = ["core", "database", "storage", "domain", "http"] as const;

function relativeImports(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)];
  return specifiers.map((match) => resolve(dirname(file), match[1]));
}

function layerOf(path: string): string | null {
  const inShared = relative(SHARED, path);
  if (inShared.startsWith("..")) return null;
  return inShared.split("/")[0];
}

Deno.test("every module of shared/ sits in a layer folder", () => {
  for (const entry of Deno.readDirSync(SHARED)) {
    assert(entry.isDirectory, `shared/${entry.name} is not in a layer folder`);
    assert((LAYERS as readonly string[]).includes(entry.name), `unknown layer shared/${entry.name}`);
  }
});

Deno.test("shared/ imports run one way: http → domain → storage, database → core", () => {
  const wrongWay: string[] = [];
  let checked = 0;
  for (const [rank, layer] of LAYERS.entries()) {
    for (const entry of Deno.readDirSync(join(SHARED, layer))) {
      const file = join(SHARED, layer, entry.name);
      for (const target of relativeImports(file)) {
        checked++;
        const targetLayer = layerOf(target);
        if (targetLayer === null) {
          wrongWay.push(`${layer}/${entry.name} imports ${target} outside shared/`);
        } else if (LAYERS.indexOf(targetLayer as typeof LAYERS[number]) > rank) {
          wrongWay.push(`${layer}/${entry.name} imports ${targetLayer}/${relative(join(SHARED, targetLayer), target)}`);
        }
      }
    }
  }
  assert(checked > 30, `only ${checked} imports found: the import pattern no longer matches`);
  assertEquals(wrongWay, []);
});
