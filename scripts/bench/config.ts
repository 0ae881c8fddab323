/**
 * What one benchmark run uses: its sizes (full, or a tenth with --quick), the export layouts of
 * case 1, the fixed ids of the seeded data, and the settings bench.sh passes in the environment.
 */

/** The sizes of one run. */
export interface BenchSizes {
  quick: boolean;
  /** Conversations of the owner (the large export). */
  conversations: number;
  /** The smaller export: the first N conversations by created_at. */
  subset: number;
  /** export_logs rows of the large table: users × 100. */
  logUsersLarge: number;
  /** Users of the small table (100 exports each); at least the 16 API clients. */
  logUsersSmall: number;
  /** Completed exports made due for case 5. */
  due: number;
  /** Rounds of case 4 (every endpoint once per round, interleaved), seconds of each run, warm-up. */
  apiRounds: number;
  apiSeconds: number;
  apiWarmupSeconds: number;
  /** Fresh-session calls of mark_expired_exports() per size. */
  expiryCalls: number;
}

/** Full sizes as issue 6 sets them; --quick a tenth of each (the small log table keeps 16 users). */
export function benchSizes(quick: boolean): BenchSizes {
  return quick
    ? {
      quick,
      conversations: 10_000,
      subset: 1_000,
      logUsersLarge: 1_000,
      logUsersSmall: 16,
      due: 10_000,
      apiRounds: 1,
      apiSeconds: 2,
      apiWarmupSeconds: 1,
      expiryCalls: 10,
    }
    : {
      quick,
      conversations: 100_000,
      subset: 10_000,
      logUsersLarge: 10_000,
      logUsersSmall: 100,
      due: 100_000,
      apiRounds: 2,
      apiSeconds: 5,
      apiWarmupSeconds: 2,
      expiryCalls: 25,
    };
}

/** One export layout of case 1: a format (and jsonl template) and the floor view that matches it. */
export interface Layout {
  name: string;
  format: "json" | "jsonl" | "csv" | "markdown";
  template?: "openai" | "sharegpt" | "alpaca";
  floorView: string;
  /** The target ratio to the INSERT floor (b). */
  target: number;
}

/** Every format and every jsonl layout. */
export const LAYOUTS: Layout[] = [
  { name: "json", format: "json", floorView: "floor_json", target: 1.5 },
  {
    name: "jsonl openai",
    format: "jsonl",
    template: "openai",
    floorView: "floor_jsonl_chat",
    target: 1.5,
  },
  {
    name: "jsonl sharegpt",
    format: "jsonl",
    template: "sharegpt",
    floorView: "floor_jsonl_chat",
    target: 1.5,
  },
  {
    name: "jsonl alpaca",
    format: "jsonl",
    template: "alpaca",
    floorView: "floor_jsonl_alpaca",
    target: 1.5,
  },
  { name: "csv", format: "csv", floorView: "floor_csv", target: 2.0 },
  { name: "markdown", format: "markdown", floorView: "floor_markdown", target: 2.0 },
];

/** The owner of the seeded conversations (seed_conversations.sql). */
export const OWNER_ID = "00000000-0000-4000-8000-0000000be4c1";
/** Seeded conversation n is created at this epoch plus n minutes. */
export const CONVERSATION_EPOCH_MS = Date.UTC(2026, 0, 1);

/** A required environment variable (bench.sh sets them all). */
export function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the benchmarks with \`npm run bench\``);
  return value;
}

/** The run's sizes, from BENCH_QUICK. */
export function currentSizes(): BenchSizes {
  return benchSizes(Deno.env.get("BENCH_QUICK") === "1");
}
