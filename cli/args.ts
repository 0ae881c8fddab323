/**
 * The command line of `deno task export`: the commands, their options and help, and parsing
 * (node:util parseArgs, strict: an unknown flag or a missing value is a usage error).
 */
import { parseArgs } from "node:util";

/** A flag of the command line, as parseArgs takes it, with its help. */
export interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** The placeholder of its value in the help (`FILE`). */
  value?: string;
  /** A boolean that also has a `--no-` form worth showing in the help. */
  negatable?: boolean;
  help: string;
}

/** Wrong arguments: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One command: its arguments, options and a line of help. */
export interface CommandSpec {
  summary: string;
  /** Positional arguments, by name (`ID`). */
  positionals: readonly string[];
  options: Record<string, OptionSpec>;
  examples?: readonly string[];
}

/** The program name as the help shows it. */
export const PROGRAM = "deno task export";

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: "string",
    value: "URL",
    help: "the Supabase URL (default: $SUPABASE_URL, else http://127.0.0.1:54321)",
  },
  token: {
    type: "string",
    value: "JWT",
    help: "the user's access token (default: $EXPORTS_TOKEN)",
  },
  json: { type: "boolean", help: "print the API's JSON instead of text" },
  help: { type: "boolean", short: "h", help: "show help" },
};

/** `--wait`, as the commands that follow an export take it. */
export const WAIT_OPTION: OptionSpec = {
  type: "boolean",
  help: "wait until the export finishes, showing its progress",
};

/** Parses a command line into its command, positional arguments and flag values. */
export function parseCommandLine(
  args: readonly string[],
  commands: Record<string, CommandSpec>,
): { command: string | undefined; positionals: string[]; values: Record<string, unknown> } {
  const first = parseArgs({
    args: [...args],
    options: GLOBAL_OPTIONS,
    strict: false,
    allowPositionals: true,
  });
  const command = first.positionals[0];
  if (command === "help" || (command === undefined && first.values.help)) {
    return { command: first.positionals[1], positionals: [], values: { help: true } };
  }
  if (command === undefined) throw new UsageError("Missing a command");
  const spec = commands[command];
  if (spec === undefined) {
    const hint = closestName(command, Object.keys(commands));
    throw new UsageError(
      `Unknown command ${JSON.stringify(command)}${hint ? `; did you mean ${hint}?` : ""}`,
    );
  }
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error, Object.keys(options)), command);
  }
  const positionals = parsed.positionals.slice(1);
  const values = parsed.values as Record<string, unknown>;
  if (!values.help) {
    if (positionals.length < spec.positionals.length) {
      throw new UsageError(
        `Missing ${spec.positionals.slice(positionals.length).join(" ")}`,
        command,
      );
    }
    if (positionals.length > spec.positionals.length) {
      throw new UsageError(
        `Unexpected argument ${JSON.stringify(positionals[spec.positionals.length])}`,
        command,
      );
    }
  }
  return { command, positionals, values };
}

/** The help of one command, or of the whole program. */
export function usage(commands: Record<string, CommandSpec>, command?: string): string {
  const spec = command === undefined ? undefined : commands[command];
  if (spec === undefined) {
    const width = Math.max(...Object.keys(commands).map((name) => name.length));
    return [
      `Usage: ${PROGRAM} <command> [options]`,
      "",
      "Commands:",
      ...Object.entries(commands).map(([name, { summary }]) =>
        `  ${name.padEnd(width)}  ${summary}`
      ),
      "",
      "Options of every command:",
      ...optionLines(GLOBAL_OPTIONS),
      "",
      `Run \`${PROGRAM} <command> --help\` for a command's options.`,
      "Exit codes: 0 ok, 1 the export failed (or the request did), 2 bad usage, 3 authentication.",
    ].join("\n");
  }
  return [
    usageLine(commands, command!),
    "",
    spec.summary,
    "",
    "Options:",
    ...optionLines({ ...spec.options, ...GLOBAL_OPTIONS }),
    ...(spec.examples?.length
      ? ["", "Examples:", ...spec.examples.map((line) => `  ${line}`)]
      : []),
  ].join("\n");
}

/** The one-line synopsis of a command (or of the program), for a usage error. */
export function usageLine(commands: Record<string, CommandSpec>, command?: string): string {
  const spec = command === undefined ? undefined : commands[command];
  if (spec === undefined) {
    return `Usage: ${PROGRAM} <command> [options]  (commands: ${Object.keys(commands).join(", ")})`;
  }
  return `Usage: ${PROGRAM} ${command}${
    spec.positionals.map((name) => ` ${name}`).join("")
  } [options]`;
}

const HELP_WIDTH = 100;

function optionLines(options: Record<string, OptionSpec>): string[] {
  const heads = Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "";
    const negation = spec.negatable ? `, --no-${name}` : "";
    return `${short}--${name}${spec.value ? ` ${spec.value}` : ""}${negation}`;
  });
  const width = Math.min(28, Math.max(...heads.map((head) => head.length)));
  const indent = " ".repeat(width + 4);
  return Object.values(options).flatMap((spec, index) => {
    const head = heads[index];
    const help = wrap(spec.help, HELP_WIDTH - indent.length);
    const first = head.length > width
      ? [`  ${head}`, `${indent}${help[0]}`]
      : [`  ${head.padEnd(width)}  ${help[0]}`];
    return [...first, ...help.slice(1).map((line) => `${indent}${line}`)];
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** parseArgs' complaint in a sentence, with the closest known flag for a misspelt one. */
function parseErrorMessage(error: unknown, known: string[]): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== undefined) {
    const hint = closestName(unknown.replace(/^-+(no-)?/, ""), known);
    return `Unknown option ${unknown}${hint ? `; did you mean --${hint}?` : ""}`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return message.replace(/^Unexpected argument '([^']*)'.*/s, 'Unexpected argument "$1"');
  }
  return message;
}

/** The known name a misspelt one most likely meant (at most two edits away), if any. */
function closestName(name: string, known: readonly string[]): string | undefined {
  const [closest] = known
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .sort((a, b) => a.distance - b.distance);
  return closest !== undefined && closest.distance <= 2 ? closest.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
