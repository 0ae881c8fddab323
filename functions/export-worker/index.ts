/** Entry point of the `export-worker` edge function: serves the app, unconditionally. */
import { guardUnhandledRejections } from "../../shared/core/process_guard.ts";
import { createWorkerAppFromEnv } from "./app.ts";

guardUnhandledRejections("export-worker");
Deno.serve(createWorkerAppFromEnv().fetch);
