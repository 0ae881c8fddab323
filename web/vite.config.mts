/**
 * Builds the web UI: a static single-page app in web/dist that any static host can serve from
 * any folder (`base: "./"`). JSX is compiled for Preact by Vite's own oxc transform, so no Babel
 * plugin is needed. Run from the repository root:
 * `node_modules/.bin/vite build --config web/vite.config.mts`.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: webRoot,
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
  },
});
