/** Entry point of the `exports` edge function: serves the app, unconditionally (the runtime needs it). */
import { createExportsAppFromEnv } from "./app.ts";

Deno.serve(createExportsAppFromEnv().fetch);
