/** Entry point of the `exports` edge function: serves the app, unconditionally (the runtime needs it). */
import { guardUnhandledRejections } from "../../shared/core/process_guard.ts";
import { createExportsAppFromEnv } from "./app.ts";

guardUnhandledRejections("exports");
Deno.serve(createExportsAppFromEnv().fetch);
