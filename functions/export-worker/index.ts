/** Entry point of the `export-worker` edge function: serves the app, unconditionally. */
import { createWorkerAppFromEnv } from "./app.ts";

Deno.serve(createWorkerAppFromEnv().fetch);
