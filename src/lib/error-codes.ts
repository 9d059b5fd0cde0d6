/**
 * Every GameError code: the exit code it gives unless the thrower says otherwise, and what it means.
 * docs/errors.md is generated from this table (`npm run readme`), and a test keeps the two in step.
 * `--json` errors carry `code`, `message`, `hint` and `exitCode`.
 */

const usage = 2
const config = 3
const unreachable = 4
const checkFailed = 5
const failure = 1
const interrupted = 130

export const ERROR_CODES = {
  USAGE: { exit: usage, meaning: 'A bad flag, argument or value on the command line.' },
  COMMAND_NOT_FOUND: { exit: usage, meaning: 'No such command; the hint suggests the closest ones.' },
  EXIT: { exit: 0, meaning: 'oclif asked to exit (e.g. after --help); not an error.' },
  INTERRUPTED: { exit: interrupted, meaning: 'Stopped by Ctrl-C or SIGTERM.' },
  INTERNAL: { exit: failure, meaning: 'An unexpected error; --verbose shows the stack.' },
  CONFIG_INVALID: {
    exit: config,
    meaning: 'A setting (flag variable, GAME_* value or game.config.json key) does not validate.',
  },
  CONFIG_UNREADABLE: { exit: config, meaning: 'The config file named by GAME_CONFIG cannot be read.' },
  SCENARIO_INVALID: { exit: config, meaning: 'A load scenario file does not validate.' },
  HOSTS_FILE_INVALID: { exit: usage, meaning: 'The --hosts-file cannot be read or names no player.' },
  LEDGER_INVALID: { exit: usage, meaning: 'The --ledger file for game check is not a ledger.' },
  UNREACHABLE: {
    exit: unreachable,
    meaning: 'Kafka, WebHDFS or the API does not answer at the address given.',
  },
  KAFKA_VERSION_UNSUPPORTED: {
    exit: failure,
    meaning: 'A Kafka broker and this client share no version of an API; the message names both ranges.',
  },
  STACK_NOT_RUNNING: {
    exit: unreachable,
    meaning: 'A command needs the stack and none runs for this data dir.',
  },
  STACK_STARTING: { exit: failure, meaning: 'Another game up is starting the stack right now.' },
  STACK_START_FAILED: { exit: failure, meaning: 'The stack daemon failed to start; see game logs.' },
  STACK_START_TIMEOUT: { exit: failure, meaning: 'The stack did not answer in time after game up.' },
  STACK_STATE_MISSING: { exit: failure, meaning: 'The stack daemon left no state file.' },
  STACK_LOCK: { exit: failure, meaning: "Another process holds this data dir's stack lock." },
  DATA_DIR_FULL: {
    exit: failure,
    meaning: 'game up: the disk of the data dir is full (ENOSPC); the hint names the dir to free.',
  },
  STACK_MODE_MISMATCH: {
    exit: usage,
    meaning:
      'The flag names a stack mode other than the one running (e.g. down --docker with an embedded stack).',
  },
  PORT_IN_USE: { exit: failure, meaning: 'A port the stack or the API needs is taken.' },
  BROKER_LISTEN_FAILED: { exit: failure, meaning: 'The embedded broker cannot listen on its address.' },
  BROKER_STORAGE_FAILED: {
    exit: failure,
    meaning: 'The embedded broker cannot open its log under the data dir.',
  },
  BROKER_LOG_LOCKED: {
    exit: failure,
    meaning: "Another broker holds the log directory's .lock; two brokers on one log would lose data.",
  },
  BROKER_LOG_CORRUPT: {
    exit: failure,
    meaning: 'A log segment is damaged with valid batches after the damage; the hint names the repair.',
  },
  API_LISTEN_FAILED: { exit: failure, meaning: 'game api cannot listen on its address.' },
  DOCKER_UNAVAILABLE: { exit: unreachable, meaning: 'No Docker engine answers (game up --docker).' },
  COMPOSE_MISSING: { exit: unreachable, meaning: 'The Docker Compose v2 plugin is not installed.' },
  COMPOSE_FAILED: {
    exit: failure,
    meaning: 'docker compose up/down failed; the message carries its output.',
  },
  NO_LOGS: { exit: unreachable, meaning: 'game logs found no log for the stack.' },
  NO_BROKERS: { exit: failure, meaning: 'No Kafka bootstrap server was given.' },
  TOPIC_NOT_FOUND: { exit: failure, meaning: 'The events topic does not exist in Kafka.' },
  PRODUCE_FAILED: { exit: failure, meaning: 'Kafka refused or lost a produce request.' },
  PRODUCE_TIMEOUT: { exit: failure, meaning: 'Kafka did not acknowledge a produce request in time.' },
  PRODUCER_CLOSED: { exit: failure, meaning: 'An event was sent after the producer closed.' },
  FETCH_FAILED: { exit: failure, meaning: 'The stream could not fetch from Kafka.' },
  CORRUPT_RECORDS: { exit: failure, meaning: 'A fetched record batch does not decode.' },
  LAKE_AHEAD_OF_KAFKA: {
    exit: failure,
    meaning:
      "The lake's committed offsets are past the topic's end (a recreated or truncated topic, under a lake whose commit records name no topic id).",
  },
  QUERY_TIMEOUT: {
    exit: failure,
    meaning: 'A game query or report statement ran longer than queryTimeoutMs and was stopped.',
  },
  LAKE_COMMIT_CORRUPT: {
    exit: failure,
    meaning: 'A commit record or checkpoint under _game/ no longer parses; the hint says how to repair it.',
  },
  LAKE_COMMIT_TOO_OLD: {
    exit: failure,
    meaning:
      'A flush or compaction took longer than a commit may (12 h), or clocks disagree; nothing was published.',
  },
  LAKE_LEASE_LOST: {
    exit: failure,
    meaning:
      'A compaction or expiry lost its partition lease to another process before its commit; nothing was committed.',
  },
  LAKE_COMPACTION_MISMATCH: {
    exit: failure,
    meaning: 'A compaction wrote a different row count than its input files hold; nothing was committed.',
  },
  LAKE_NOT_FOUND: { exit: failure, meaning: 'A lake path does not exist.' },
  LAKE_ALREADY_EXISTS: { exit: failure, meaning: 'A lake file that must be new exists already.' },
  LAKE_BAD_PATH: { exit: failure, meaning: 'A lake path is not a safe relative path.' },
  LAKE_DELETE_ROOT: { exit: failure, meaning: "Refused to delete the lake's root." },
  LAKE_DIR_NOT_EMPTY: { exit: failure, meaning: 'A non-recursive delete of a non-empty lake directory.' },
  LAKE_IO: { exit: failure, meaning: 'A file lake read or write failed.' },
  LAKE_RENAME_FAILED: { exit: failure, meaning: 'A lake rename (a commit step) failed.' },
  LAKE_UNREADABLE: { exit: failure, meaning: 'A lake file cannot be read.' },
  LAKE_ACCESS_DENIED: { exit: config, meaning: 'The lake refuses access to the configured user.' },
  LOCAL_FILE_UNREADABLE: { exit: failure, meaning: 'A local file to upload cannot be read.' },
  LOCAL_READ_FAILED: { exit: failure, meaning: 'Reading a local file failed mid-way.' },
  WEBHDFS_BAD_PATH: { exit: usage, meaning: 'A WebHDFS path is not absolute or not safe.' },
  WEBHDFS_BAD_RESPONSE: {
    exit: failure,
    meaning: 'A WebHDFS server answered with something that is not WebHDFS JSON.',
  },
  WEBHDFS_CONNECTION_LOST: { exit: unreachable, meaning: 'The WebHDFS connection dropped.' },
  WEBHDFS_DATANODE_UNRESOLVABLE: {
    exit: unreachable,
    meaning: 'A namenode redirect names a datanode host that does not resolve (set GAME_DATANODE_HOST).',
  },
  WEBHDFS_FAILED: { exit: failure, meaning: 'A WebHDFS request failed.' },
  WEBHDFS_RENAME_FAILED: { exit: failure, meaning: 'WebHDFS RENAME answered false.' },
  WEBHDFS_TIMEOUT: { exit: unreachable, meaning: 'A WebHDFS request timed out.' },
  QUERY_FAILED: { exit: failure, meaning: 'DuckDB refused or failed a report or game query statement.' },
  LOAD_INTERNAL: { exit: failure, meaning: 'The load runner failed unexpectedly.' },
  THRESHOLDS_BREACHED: {
    exit: checkFailed,
    meaning: 'A game load threshold (--max-p99, --max-error-rate, --min-rps) was breached.',
  },
  NOTHING_ACCEPTED: {
    exit: checkFailed,
    meaning: 'game load: no request of the run got a 2xx; the hint says what the API answered.',
  },
  CHECK_FAILED: {
    exit: checkFailed,
    meaning: 'game check found differences between the ledger and the lake.',
  },
  DOCTOR_CHECKS_FAILED: {
    exit: failure,
    meaning: 'game doctor found problems; each failed row has its fix.',
  },
  SERVICES_DOWN: {
    exit: unreachable,
    meaning: 'game status: a service of the stack does not answer its probe.',
  },
  KAFKA_STORAGE_ERROR: {
    exit: failure,
    meaning:
      'game status: Kafka answers but cannot write its log (a full or failing disk; produce gets KAFKA_STORAGE_ERROR). Free space; writing resumes by itself.',
  },
  DEMO_STACK: { exit: failure, meaning: 'game demo could not start the stack.' },
  DEMO_LOAD: { exit: failure, meaning: 'game demo: the seed load did not go through.' },
} as const satisfies Record<string, { exit: number; meaning: string }>

/** WebHDFS RemoteExceptions become WEBHDFS_<EXCEPTION> (e.g. WEBHDFS_FILENOTFOUNDEXCEPTION), exit 1. */
export type WebHdfsRemoteCode = `WEBHDFS_${Uppercase<string>}`

export type ErrorCode = keyof typeof ERROR_CODES | WebHdfsRemoteCode

export function isErrorCode(code: string): code is ErrorCode {
  return code in ERROR_CODES || /^WEBHDFS_[A-Z0-9_]+$/.test(code)
}

/** The exit code a code gives when its thrower does not choose one. */
export function defaultExitCode(code: ErrorCode): number {
  return (ERROR_CODES as Record<string, { exit: number }>)[code]?.exit ?? failure
}

/** docs/errors.md: the table above as Markdown. Pure. */
export function renderErrorCodesDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.exit} | ${e.meaning} |`)
  return [
    '# Error codes',
    '',
    '<!-- generated from src/lib/error-codes.ts by `npm run readme`; do not edit by hand -->',
    '',
    'Every error `game` reports has a stable code. Text mode prints `Error: <message>` and',
    '`Hint: <what to do next>` on stderr; under `--json` stdout holds',
    '`{"error": {"code", "message", "hint", "exitCode", "details"?}}`. The exit column is the exit',
    "code unless a command gives that error a more specific one (see the README's exit codes).",
    '',
    '| code | exit | meaning |',
    '|---|---|---|',
    ...rows,
    "| `WEBHDFS_<EXCEPTION>` | 1 | A WebHDFS RemoteException, named after Hadoop's exception (e.g. `WEBHDFS_FILENOTFOUNDEXCEPTION`). |",
    '',
  ].join('\n')
}
